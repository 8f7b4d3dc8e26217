"""The Turmeric functions of durable workflows, installed into an app's runtime.

The user-facing ones (`checkpoint`, `workflow/step`, `workflow/sleep`...) are written in
Turmeric (prelude.tm) on `cloneable-shift`; the `%wf-` functions here write to the store.
They find the workflow engine through `engine_of()` at call time, so the same install
works for a running app and for `tmweb check`, which has none.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from ..lang.code import ASYNC, Builtin, Continuation
from ..lang.errors import type_error, user_error
from ..lang.printer import pr_str
from ..lang.serial import serialize
from ..lang.values import Keyword, TMap, tvector
from .engine import CURRENT, DEFAULT_QUEUE, SUSPENDED, SUSPENDED_TYPE, Workflows, current
from .errors import UnknownWorkflow, WorkflowFinished
from .records import Save, WorkflowRow

_PRELUDE = os.path.join(os.path.dirname(__file__), "prelude.tm")


def _str(fname: str, v: Any) -> str:
    if v.__class__ is Keyword:
        return str(v.name)
    if v.__class__ is not str or not v:
        raise type_error(f"{fname}: expected a name (a non-empty string), got {pr_str(v)}")
    return v


def _k(fname: str, k: Any) -> Any:
    if k.__class__ is not Continuation:
        raise type_error(f"{fname}: expected a continuation, got {pr_str(k)}")
    return k


def status_map(engine: Workflows, row: WorkflowRow) -> TMap:
    """`(workflow/status id)`: the workflow as a map a page can show."""
    d: dict[Any, Any] = {
        Keyword("id"): row.id,
        Keyword("status"): Keyword(row.status),
        Keyword("function"): row.fn,
        Keyword("queue"): row.queue,
        Keyword("checkpoint"): row.checkpoint,
        Keyword("checkpoint-bytes"): row.checkpoint_bytes,
        Keyword("checkpoints"): row.checkpoints,
        Keyword("steps"): tvector(row.steps),
        Keyword("waiting-for"): row.waiting_for,
        Keyword("wake-at"): row.wake_at if row.status == "sleeping" else None,
        Keyword("result"): engine.value(row.result) if row.status == "done" else None,
        Keyword("error"): row.error,
    }
    return TMap(d)


class WorkflowBuiltins:
    """The workflow functions of one app, bound to it through `engine_of`."""

    def __init__(self, engine_of: Callable[[], Workflows | None]) -> None:
        self.engine_of = engine_of

    def engine(self, fname: str) -> Workflows:
        ctx = CURRENT.get(None)
        if ctx is not None:
            return ctx.engine
        engine = self.engine_of()
        if engine is None:
            raise type_error(f"{fname} needs an app: run it in a handler of an app served by `tmweb serve`")
        return engine

    async def start(self, f: Any, *args: Any) -> str:
        return await self.engine("workflow/start").start(f, args)

    async def status(self, wf_id: Any) -> TMap:
        """An unknown id is a catchable Turmeric error (a page can answer 404)."""
        engine = self.engine("workflow/status")
        try:
            return status_map(engine, await engine.get(_str("workflow/status", wf_id)))
        except UnknownWorkflow as e:
            raise user_error(f"workflow/status: {e}") from None

    async def signal(self, wf_id: Any, name: Any, value: Any = None) -> None:
        """An unknown or finished workflow is a catchable Turmeric error."""
        try:
            await self.engine("workflow/signal").signal(
                _str("workflow/signal", wf_id), _str("workflow/signal", name), value
            )
        except (UnknownWorkflow, WorkflowFinished) as e:
            raise user_error(f"workflow/signal: {e}") from None

    # -- inside a workflow ---------------------------------------------------------------

    async def checkpoint(self, k: Any, name: Any, value: Any) -> None:
        ctx = current("checkpoint")
        await ctx.engine.save(ctx, _k("checkpoint", k), value, Save(b"", _str("checkpoint", name)))

    async def commit(self, k: Any, name: Any, value: Any) -> None:
        """A step's result, recorded with the checkpoint after it in one write."""
        ctx = current("workflow/step")
        name = _str("workflow/step", name)
        step = (name, serialize(ctx.engine.rt, value))
        await ctx.engine.save(ctx, _k("workflow/step", k), value, Save(b"", name, step=step))

    async def recorded(self, name: Any) -> Any:
        """`[value]` if the step `name` is recorded as done, else `[]`."""
        ctx = current("workflow/step")
        blob = await ctx.engine.backend.step_result(ctx.row.id, _str("workflow/step", name))
        return tvector([] if blob is None else [ctx.engine.value(blob)])

    def begin_step(self, name: Any) -> None:
        current("workflow/step").step = _str("workflow/step", name)

    def step_key(self) -> str:
        ctx = current("workflow/step-key")
        if ctx.step is None:
            raise type_error("workflow/step-key works inside the function of a (workflow/step name f)")
        return f"{ctx.row.id}/{ctx.step}"

    def wf_id(self) -> str:
        return current("workflow/id").row.id

    async def sleep(self, k: Any, seconds: Any) -> Any:
        ctx = current("workflow/sleep")
        if seconds.__class__ not in (int, float) or seconds < 0:
            raise type_error(f"workflow/sleep: expected a number of seconds, got {pr_str(seconds)}")
        save = Save(b"", f"sleep {seconds}s", status="sleeping", wake_at=time.time() + seconds)
        await ctx.engine.save(ctx, _k("workflow/sleep", k), None, save)
        return SUSPENDED

    async def await_signal(self, k: Any, name: Any) -> Any:
        ctx = current("workflow/await-signal")
        name = _str("workflow/await-signal", name)
        save = Save(b"", f"await {name}", status="waiting", waiting_for=name)
        taken = await ctx.engine.save(ctx, _k("workflow/await-signal", k), None, save)
        return SUSPENDED if taken is None else tvector([ctx.engine.value(taken)])

    async def migrate(self, k: Any, queue: Any) -> Any:
        ctx = current("workflow/migrate")
        queue = _str("workflow/migrate", queue)
        save = Save(b"", f"migrate to {queue}", status="ready", queue=queue)
        await ctx.engine.save(ctx, _k("workflow/migrate", k), None, save)
        return SUSPENDED


def install(rt: Any, engine_of: Callable[[], Workflows | None]) -> None:
    """Give `rt` the workflow functions; `engine_of()` is the app's `Workflows` (None in
    `tmweb check`)."""
    b = WorkflowBuiltins(engine_of)
    core = rt.core
    for name, fn, kind in [
        ("workflow/start", b.start, ASYNC),
        ("workflow/status", b.status, ASYNC),
        ("workflow/signal", b.signal, ASYNC),
        ("workflow/step-key", b.step_key, 0),
        ("workflow/id", b.wf_id, 0),
        ("%wf-checkpoint", b.checkpoint, ASYNC),
        ("%wf-commit", b.commit, ASYNC),
        ("%wf-recorded", b.recorded, ASYNC),
        ("%wf-begin-step", b.begin_step, 0),
        ("%wf-sleep", b.sleep, ASYNC),
        ("%wf-await", b.await_signal, ASYNC),
        ("%wf-migrate", b.migrate, ASYNC),
    ]:
        core.define(name, Builtin(name, fn, kind))
    rt.structs[SUSPENDED_TYPE.qualified] = SUSPENDED_TYPE
    with open(_PRELUDE, encoding="utf-8") as f:
        rt.exec_text(f.read(), core, _PRELUDE)


__all__ = ["DEFAULT_QUEUE", "install", "status_map"]
