"""A worker: claims runnable workflows of one queue, runs them, keeps their leases alive.

A claim holds a lease (default 30 s) that the worker renews every third of it while the
run goes on. A worker that dies (kill -9, a lost machine) renews nothing: when its lease
runs out another worker claims the workflow and resumes it from its last checkpoint.
`tmweb serve` runs one in each server process (`with_worker`), `tmweb worker APP_DIR` one
on its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from typing import Any

from .engine import DEFAULT_QUEUE, Workflows
from .errors import WorkflowUnavailable
from .records import WorkflowRow

log = logging.getLogger("tmweb.workflow")

DEFAULT_LEASE = 30.0


class Worker:
    """Runs the workflows of `queue` from `engine`'s store, `concurrency` at a time."""

    def __init__(
        self,
        engine: Workflows,
        queue: str = DEFAULT_QUEUE,
        *,
        lease: float = DEFAULT_LEASE,
        concurrency: int = 8,
        poll: float = 0.5,
    ) -> None:
        if lease <= 0:
            raise ValueError(f"a lease must be a positive number of seconds, got {lease}")
        self.engine = engine
        self.queue = queue
        self.lease = float(lease)
        self.concurrency = concurrency
        #: Longest pause between two looks at the store when nothing is runnable (a start
        #: in this process wakes the worker at once).
        self.poll = poll
        self.name = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._running: dict[asyncio.Task[str], str] = {}
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        """Claim and run workflows until `stop()`; waits out an unavailable store."""
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._wake.set)

        self.engine.listeners.append(wake)
        beat = asyncio.create_task(self._heartbeat())
        log.info("workflow worker %s on queue %r, lease %.1f s", self.name, self.queue, self.lease)
        try:
            while not self._stop.is_set():
                self._wake.clear()
                claimed = await self._claim_some()
                await self._pause(claimed)
        finally:
            self.engine.listeners.remove(wake)
            beat.cancel()
            for task in list(self._running):
                task.cancel()
            await asyncio.gather(beat, *self._running, return_exceptions=True)

    async def _claim_some(self) -> int:
        n = 0
        while len(self._running) < self.concurrency and not self._stop.is_set():
            try:
                row = await self.engine.backend.claim(self.queue, self.name, self.lease)
            except WorkflowUnavailable as e:
                log.warning("workflow store unavailable, trying again: %s", e)
                await asyncio.sleep(1.0)
                return n
            except Exception:  # a bug or a store in a state we did not foresee: keep serving
                log.exception("claiming a workflow failed; trying again in a second")
                await asyncio.sleep(1.0)
                return n
            if row is None:
                return n
            task = asyncio.create_task(self._run(row))
            self._running[task] = row.run_id or ""
            task.add_done_callback(self._done)
            n += 1
        return n

    async def _run(self, row: WorkflowRow) -> str:
        outcome = await self.engine.run(row)
        try:
            await self.engine.backend.ack(row, outcome)
        except WorkflowUnavailable as e:  # the entry is delivered again; the claim sorts it out
            log.warning("cannot acknowledge workflow %s: %s", row.id, e)
        return outcome

    def _done(self, task: asyncio.Task[str]) -> None:
        self._running.pop(task, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("workflow run crashed", exc_info=task.exception())
        self._wake.set()

    async def _pause(self, claimed: int) -> None:
        if claimed and len(self._running) < self.concurrency:
            return  # maybe more to claim
        delay = self.poll
        if len(self._running) < self.concurrency:
            try:
                nxt = await self.engine.backend.next_wake(self.queue)
            except WorkflowUnavailable:
                nxt = None
            if nxt is not None:
                delay = max(0.0, min(delay, nxt - time.time() + 0.005))
        try:
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
        except TimeoutError:
            pass

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self.engine.backend.renew(self.name, [r for r in self._running.values() if r], self.lease)
            except WorkflowUnavailable as e:
                log.warning("cannot renew leases: %s", e)


def with_worker(app: Any, engine_of: Any, queue: str = DEFAULT_QUEUE, lease: float = DEFAULT_LEASE) -> Any:
    """`app` (ASGI) with a workflow worker started by the server's lifespan: what `tmweb
    serve` runs. Other scopes go to `app` untouched."""

    async def asgi(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        worker: Worker | None = None
        task: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                engine = engine_of()
                if engine is not None:
                    worker = Worker(engine, queue, lease=lease)
                    task = asyncio.create_task(worker.run())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if worker is not None and task is not None:
                    worker.stop()
                    await asyncio.gather(task, return_exceptions=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    asgi.app = app  # type: ignore[attr-defined]
    return asgi
