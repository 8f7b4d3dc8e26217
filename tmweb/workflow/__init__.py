"""Durable workflows: functions whose state is their continuation, saved at each checkpoint.

`Workflows` starts, runs and reports them; a `Worker` claims and runs them with leases;
the store is the app's own (SQLite tables next to its continuations, or Redis).
"""

from __future__ import annotations

import os
from typing import Any

from .builtins import install, status_map
from .engine import DEFAULT_QUEUE, Workflows
from .errors import LeaseLost, UnknownWorkflow, WorkflowError, WorkflowFinished, WorkflowUnavailable
from .records import Backend, WorkflowRow
from .sqlite import SQLiteWorkflows
from .worker import DEFAULT_LEASE, Worker, with_worker

__all__ = [
    "DEFAULT_LEASE", "DEFAULT_QUEUE", "Backend", "LeaseLost", "SQLiteWorkflows", "UnknownWorkflow",
    "Worker", "WorkflowError", "WorkflowFinished", "WorkflowRow", "WorkflowUnavailable", "Workflows",
    "for_store", "install", "status_map", "with_worker",
]  # fmt: skip


def for_store(rt: Any, url: str | None, store: Any, app_dir: str) -> Workflows:
    """The workflows of an app whose continuation store is `store` (opened from `url`):
    Redis workflows for a Redis URL, else SQLite tables in the store's SQLite file (or in
    the app's `.tmweb/` folder for a store object that has none). Opened on first use."""
    scheme = (url or "").partition(":")[0].lower()

    def open_backend() -> Backend:
        if scheme in ("redis", "rediss", "unix"):
            from .redis import RedisWorkflows

            return RedisWorkflows(url or "")
        path = getattr(store, "path", None)
        if not isinstance(path, str):
            folder = os.path.join(os.path.abspath(app_dir), ".tmweb")
            os.makedirs(folder, mode=0o700, exist_ok=True)
            path = os.path.join(folder, "workflows.sqlite3")
        return SQLiteWorkflows(path)

    return Workflows(rt, open_backend)
