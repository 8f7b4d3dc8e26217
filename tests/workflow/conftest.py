"""Fixtures of the workflow tests: an app folder with workflow code, its App, a worker.

`make_app(src)` writes `src` as the module `flows` of a fresh app folder and returns a
`tmweb.App` on its embedded SQLite store; `run_until(app, wf_id, statuses)` runs an
in-process worker (short lease, fast polling) until the workflow reaches one of them.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from tmweb.web.app import App
from tmweb.workflow import Worker, WorkflowRow

KEY = "workflow-tests-secret-key-0123456789abcdef"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Every workflow test runs on the embedded SQLite store and on Redis."""
    return request.getfixturevalue("redis_url") if request.param == "redis" else None


@pytest.fixture
def make_app(tmp_path: Path, store_url: str | None) -> Callable[..., App]:
    def make(src: str, folder: str = "app") -> App:
        d = tmp_path / folder
        d.mkdir(exist_ok=True)
        (d / "flows.tm").write_text(textwrap.dedent(src).lstrip("\n"), encoding="utf-8")
        return App(str(d), store=store_url, secret_key=KEY)

    return make


async def corrupt(app: App, wf_id: str, state: bytes) -> None:
    """Overwrite a workflow's stored state, as a disk or a bug might."""
    backend = app.workflows.backend
    if hasattr(backend, "r"):
        await backend.r.hset(backend._wf(wf_id), "state", state)
    else:
        await backend._run(lambda conn: conn.execute("UPDATE wf_workflows SET state = ? WHERE id = ?", (state, wf_id)))


def fn(app: App, name: str, module: str = "flows") -> object:
    return app.rt.modules[module].cells[name].value


async def run_until(
    app: App,
    wf_id: str,
    statuses: tuple[str, ...] = ("done", "failed"),
    timeout: float = 10.0,
    queue: str = "default",
    until: Callable[[WorkflowRow], bool] = lambda row: True,
) -> WorkflowRow:
    """Run a worker of `app` until `wf_id` has one of `statuses`; return its row."""
    worker = Worker(app.workflows, queue, lease=2.0, poll=0.02)
    task = asyncio.create_task(worker.run())
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            row = await app.workflows.get(wf_id)
            if row.status in statuses and until(row):
                return row
            assert asyncio.get_running_loop().time() < deadline, f"{wf_id} still {row.status}"
            await asyncio.sleep(0.01)
    finally:
        worker.stop()
        await task
