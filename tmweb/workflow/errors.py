"""The workflow runtime's errors: one base, each subclass saying what went wrong and what to do."""

from __future__ import annotations

from ..lang.machine import HostError


class WorkflowError(Exception):
    """Base of every error the workflow runtime raises on purpose."""


class UnknownWorkflow(WorkflowError):
    """No workflow has this id in the store."""

    def __init__(self, wf_id: str) -> None:
        super().__init__(f"no workflow with the id {wf_id!r} in this store; `tmweb workflow list APP_DIR` shows them")
        self.wf_id = wf_id


class WorkflowFinished(WorkflowError):
    """A signal (or resume) was sent to a workflow that is done or failed."""

    def __init__(self, wf_id: str, status: str) -> None:
        super().__init__(f"workflow {wf_id} is {status}: it takes no more signals")
        self.wf_id = wf_id
        self.status = status


class WorkflowUnavailable(WorkflowError, HostError):
    """The workflow store cannot be reached; a worker waits and tries again."""


class LeaseLost(WorkflowError, HostError):
    """This worker's lease on a workflow ran out and another worker took it over; the run
    stops without writing anything, and the other worker's run is the one that counts."""

    def __init__(self, wf_id: str) -> None:
        super().__init__(f"the lease on workflow {wf_id} was lost to another worker; this run stops")
        self.wf_id = wf_id
