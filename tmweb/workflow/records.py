"""What the store keeps about one workflow, and the backend interface both stores implement.

A workflow row holds its state blob: the serialized `[f args]` it was started with
(kind "start") or the serialized `[k value]` of its last checkpoint (kind "resume"),
which a worker resumes as `(resume k value)`. A signal that wakes a waiting workflow is
put in its `inbox` (kind "signal": resume `k` with the signal's value). Step results are
kept by name, signals not yet awaited in order of arrival.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

#: Every status a workflow has, in the order of its life.
STATUSES = ("ready", "running", "sleeping", "waiting", "done", "failed")
#: Claims in a row without a checkpoint after which a workflow is failed instead of run
#: again: each of its runs killed the process running it (a poison workflow).
MAX_TRIES = 10


def poisoned(tries: int) -> str:
    """The error of a workflow failed after `tries` runs that never reached a checkpoint."""
    return (
        f"error: the workflow was claimed {tries} times in a row without reaching a checkpoint: "
        "the process running it died each time (a crash, a kill, out of memory?); fix the cause, "
        "then `tmweb workflow retry APP_DIR ID` resumes it from its last checkpoint"
    )
FINISHED = ("done", "failed")


@dataclass(slots=True)
class WorkflowRow:
    """One workflow as the store has it (blobs still serialized)."""

    id: str
    queue: str
    fn: str
    status: str
    kind: str = "start"
    state: bytes | None = None
    inbox: bytes | None = None
    wake_at: float = 0.0
    waiting_for: str | None = None
    lease_owner: str | None = None
    lease_until: float | None = None
    run_id: str | None = None
    checkpoint: str | None = None
    checkpoint_bytes: int = 0
    checkpoints: int = 0
    result: bytes | None = None
    error: str | None = None
    claims: int = 0
    created: float = 0.0
    updated: float = 0.0
    steps: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Save:
    """What a run writes at a checkpoint (or a wait): the new state blob and the status
    that follows. `step` is a (name, value blob) recorded in the same transaction."""

    state: bytes
    checkpoint: str
    status: str = "running"
    wake_at: float = 0.0
    waiting_for: str | None = None
    queue: str | None = None
    step: tuple[str, bytes] | None = None
    #: The size of the whole continuation (`state` may be a manifest of chunks).
    size: int = 0
    #: Incremental checkpoint: the (digest, bytes) chunks not yet stored for the workflow,
    #: and every digest `state` names (the others are deleted). None: `state` is whole.
    chunks: list[tuple[bytes, bytes]] | None = None
    keep: list[bytes] | None = None


class Backend(Protocol):
    """A workflow store. Every write of a run names its `run_id`; a run whose lease was
    taken over by another worker gets `LeaseLost` and writes nothing."""

    url: str

    async def create(self, row: WorkflowRow) -> None: ...
    async def get(self, wf_id: str) -> WorkflowRow: ...
    async def list(self, status: str | None = None, limit: int = 100) -> list[WorkflowRow]: ...
    async def claim(self, queue: str, worker: str, lease: float) -> WorkflowRow | None: ...
    async def ack(self, row: WorkflowRow, outcome: str) -> None: ...
    async def renew(self, worker: str, run_ids: list[str], lease: float) -> None: ...
    async def save(self, wf_id: str, run_id: str, save: Save) -> bytes | None: ...
    async def finish(self, wf_id: str, run_id: str, result: bytes | None, error: str | None) -> None: ...
    async def step_result(self, wf_id: str, name: str) -> bytes | None: ...
    async def chunks(self, wf_id: str, digests: list[bytes]) -> dict[bytes, bytes]: ...
    async def signal(self, wf_id: str, name: str, value: bytes) -> None: ...
    async def retry(self, wf_id: str) -> None: ...
    async def next_wake(self, queue: str) -> float | None: ...
    async def close(self) -> None: ...
