"""`Workflows`: start a workflow, run one claimed by a worker, answer its status.

A workflow's state is its continuation. It starts as the serialized `[f args]`; each
checkpoint replaces that with the serialized `[k value]`, `k` being the rest of the
workflow from the checkpoint on. A worker that claims it runs `(f args...)` or
`(resume k value)` on a fresh machine. Waiting (sleep, signal, migration) is a checkpoint
that releases the workflow instead of running on: its shift body returns `SUSPENDED`,
which ends the run. No replay and no determinism rules: after a crash the workflow goes
on from its last checkpoint, and steps recorded as done return their recorded result.
"""

from __future__ import annotations

import contextvars
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..lang.builtins.registry import REGISTRY
from ..lang.code import Builtin, Closure
from ..lang.errors import CORRUPT_DATA, TurmericError, err, type_error
from ..lang.machine import ExitRequest, Machine
from ..lang.printer import pr_str
from ..lang.serial import deserialize, serialize
from ..lang.values import Struct, StructType, TVector, tvector
from . import chunks
from .errors import LeaseLost, WorkflowUnavailable
from .records import Backend, Save, WorkflowRow

log = logging.getLogger("tmweb.workflow")

#: What a waiting workflow's run ends with: the shift body's value, back at the top.
SUSPENDED_TYPE = StructType("workflow-suspended", (), "core")
SUSPENDED = Struct(SUSPENDED_TYPE, ())

RESUME = REGISTRY["resume"]
DEFAULT_QUEUE = "default"


@dataclass
class RunCtx:
    """The workflow a machine is running: what checkpoints write to and steps are keyed by."""

    engine: Workflows
    row: WorkflowRow
    run_id: str
    step: str | None = None
    #: Digests of the chunks stored for this workflow (incremental checkpoints).
    known: set[bytes] = field(default_factory=set)


CURRENT: contextvars.ContextVar[RunCtx] = contextvars.ContextVar("tmweb_workflow")


def current(fname: str) -> RunCtx:
    """The running workflow, or a Turmeric error saying `fname` needs one."""
    ctx = CURRENT.get(None)
    if ctx is None:
        raise type_error(
            f"{fname} works inside a workflow: start one with (workflow/start f args...) "
            "and call it in f (or a function f calls)"
        )
    return ctx


def fn_symbol(f: Any) -> str:
    """The stable symbol of a workflow function, shown by `workflow list`."""
    if f.__class__ is Closure:
        return str(f.code.symbol)
    if f.__class__ is Builtin:
        return str(f.symbol)
    raise type_error(f"workflow/start: expected a function, got {pr_str(f)[:80]}")


class Workflows:
    """The workflows of one app: its runtime (code to run and resolve) and its store."""

    def __init__(self, rt: Any, backend: Backend | Callable[[], Backend]) -> None:
        self.rt = rt
        self._backend = backend
        #: Called (with no argument) when a workflow becomes runnable in this process, so
        #: an in-process worker claims it at once instead of at its next poll.
        self.listeners: list[Callable[[], None]] = []
        #: Checkpoints of `chunks.MIN_INCREMENTAL` bytes or more write only the chunks the
        #: workflow has not stored yet (chunks.py).
        self.incremental = True
        #: Bytes the last checkpoint of this process wrote (state + new chunks), for bench/.
        self.last_written = 0

    @property
    def backend(self) -> Backend:
        """Opened on first use: an app that starts no workflow touches no workflow store."""
        if callable(self._backend) and not hasattr(self._backend, "claim"):
            self._backend = self._backend()
        return self._backend  # type: ignore[return-value]

    def _kick(self) -> None:
        for fn in list(self.listeners):
            try:
                fn()
            except RuntimeError:  # a listener whose loop has closed
                self.listeners.remove(fn)

    # -- starting, signalling, status -------------------------------------------------

    async def start(self, f: Any, args: tuple[Any, ...] = (), queue: str = DEFAULT_QUEUE) -> str:
        """Store `(f args...)` as a new workflow on `queue` and return its id at once."""
        symbol = fn_symbol(f)
        state = serialize(self.rt, tvector([f, tvector(args)]))
        wf_id = "wf-" + secrets.token_hex(8)
        await self.backend.create(WorkflowRow(wf_id, queue, symbol, "ready", state=state))
        self._kick()
        return wf_id

    async def signal(self, wf_id: str, name: str, value: Any) -> None:
        """Deliver a signal: it wakes the workflow if it waits for `name`, else it is kept
        until the workflow awaits it."""
        await self.backend.signal(wf_id, name, serialize(self.rt, value))
        self._kick()

    async def get(self, wf_id: str) -> WorkflowRow:
        return await self.backend.get(wf_id)

    def value(self, blob: bytes | None) -> Any:
        """A stored result or step value, loaded (None if absent)."""
        return None if blob is None else deserialize(self.rt, blob)

    # -- running ------------------------------------------------------------------------

    async def run(self, row: WorkflowRow) -> str:
        """Run a workflow this process claimed until it finishes, fails or waits; return
        what it came to ("done", "failed", "suspended", "lost" or "unavailable")."""
        assert row.run_id is not None
        ctx = RunCtx(self, row, row.run_id)
        try:
            frame_args = await self._load(row, ctx)
        except WorkflowUnavailable:
            return "unavailable"
        except TurmericError as e:
            reason = f"its stored state cannot be resumed by the current code: {e.format()}"
            log.error("workflow %s failed: %s", row.id, reason)
            return await self._finish(row, None, reason)
        machine = Machine(None)
        machine.rt = self.rt
        token = CURRENT.set(ctx)
        try:
            result = await machine.run_async(machine.start(*frame_args))
        except TurmericError as e:
            log.warning("workflow %s failed:\n%s", row.id, e.format())
            return await self._finish(row, None, e.format())
        except ExitRequest as e:  # a worker serves many workflows: (exit) ends only this one
            return await self._finish(row, None, f"error: the workflow called (exit {e.code})")
        except LeaseLost:
            log.warning("workflow %s: lease lost to another worker; this run stops", row.id)
            return "lost"
        except WorkflowUnavailable as e:
            log.warning("workflow %s: store unavailable (%s); another claim resumes it", row.id, e)
            return "unavailable"
        finally:
            CURRENT.reset(token)
        if result is SUSPENDED:
            return "suspended"
        try:
            blob = serialize(self.rt, result)
        except TurmericError as e:
            return await self._finish(row, None, f"its result cannot be stored: {e.format()}")
        return await self._finish(row, blob, None)

    async def _load(self, row: WorkflowRow, ctx: RunCtx) -> tuple[Any, tuple[Any, ...]]:
        """(function, args) that start or resume the claimed workflow."""
        if row.state is None:
            raise type_error("the workflow has no stored state")
        data, ctx.known = await self.state_bytes(row)
        state = deserialize(self.rt, data)
        if state.__class__ is not TVector or len(state) != 2:
            raise type_error(f"the stored state is not a workflow state: {pr_str(state)[:80]}")
        head, rest = state[0], state[1]
        if row.kind == "start":
            return head, tuple(rest)
        value = deserialize(self.rt, row.inbox) if row.kind == "signal" and row.inbox is not None else rest
        return RESUME, (head, value)

    async def state_bytes(self, row: WorkflowRow) -> tuple[bytes, set[bytes]]:
        """The serialized state of `row`, its chunks put together if it is a manifest, and
        the digests of those chunks."""
        data = row.state or b""
        digests = chunks.parse_manifest(data)
        if digests is None:
            return data, set()
        found = await self.backend.chunks(row.id, digests)
        missing = [d.hex() for d in digests if d not in found]
        if missing:
            raise err(CORRUPT_DATA, f"the checkpoint's chunk {missing[0]} is missing from the store")
        return b"".join(found[d] for d in digests), set(digests)

    async def _finish(self, row: WorkflowRow, result: bytes | None, error: str | None) -> str:
        try:
            await self.backend.finish(row.id, row.run_id or "", result, error)
        except LeaseLost:
            return "lost"
        except WorkflowUnavailable:
            return "unavailable"
        return "failed" if error is not None else "done"

    # -- what the Turmeric functions call, inside a run ---------------------------------

    async def save(self, ctx: RunCtx, k: Any, value: Any, save: Save) -> bytes | None:
        """Write a checkpoint: `[k value]` is what a worker resumes from."""
        data = serialize(self.rt, tvector([k, value]))
        save.size = len(data)
        if self.incremental and len(data) >= chunks.MIN_INCREMENTAL:
            pieces = [(chunks.digest(c), c) for c in chunks.split(data)]
            save.keep = [d for d, _ in pieces]
            save.chunks = list({d: c for d, c in pieces if d not in ctx.known}.items())
            save.state = chunks.manifest(save.keep)
            self.last_written = len(save.state) + sum(len(c) for _, c in save.chunks)
        else:
            save.state = data
            self.last_written = len(data)
        taken = await self.backend.save(ctx.row.id, ctx.run_id, save)
        ctx.known = set(save.keep or ())
        if save.status != "running":
            self._kick()
        return taken
