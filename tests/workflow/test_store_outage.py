"""A Redis store that goes away and comes back: starting a workflow says it is unavailable,
the worker waits and reconnects (its consumer group made again, as a Redis restarted
without its data has none), and runs the workflows started afterwards."""

from __future__ import annotations

import asyncio
import textwrap
from pathlib import Path
from typing import Any

import pytest

from tests.workflow.conftest import KEY
from tmweb.web.app import App
from tmweb.workflow import Worker, WorkflowUnavailable

pytestmark = pytest.mark.anyio


async def test_a_worker_outlives_a_redis_restart(tmp_path: Path, redis_server: Any, redis_url: str) -> None:
    assert redis_server.can_restart  # the fixture's own server, which a test may stop
    (tmp_path / "flows.tm").write_text(textwrap.dedent('(defn one [i] (workflow/step "s" (fn [] (* i 10))))\n'))
    app = App(str(tmp_path), store=redis_url, secret_key=KEY)
    one = app.rt.modules["flows"].cells["one"].value
    worker = Worker(app.workflows, lease=2, poll=0.05)
    task = asyncio.create_task(worker.run())
    try:
        first = await app.workflows.start(one, (1,))
        while (await app.workflows.get(first)).status != "done":
            await asyncio.sleep(0.02)
        redis_server.stop()
        with pytest.raises(WorkflowUnavailable, match="is unavailable"):
            await app.workflows.start(one, (2,))
        await asyncio.sleep(1.2)  # the worker meets the outage, logs it and waits
        assert not task.done()
        redis_server.start()
        second = await app.workflows.start(one, (3,))
        for _ in range(500):
            row = await app.workflows.get(second)
            if row.status == "done":
                break
            await asyncio.sleep(0.02)
        assert app.workflows.value(row.result) == 30
    finally:
        if not redis_server.running:
            redis_server.start()
        worker.stop()
        await task
