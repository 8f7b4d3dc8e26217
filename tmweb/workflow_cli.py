"""`tmweb worker` and `tmweb workflow start|list|show|signal|retry|check`.

Each loads the app (its code is what runs and resolves stored continuations) and its
store, as `tmweb serve` would. Arguments on the command line are read as Turmeric
literals when they look like one (`7`, `2.5`, `"text"`, `:kw`, `[1 2]`, `{:a 1}`, `nil`,
`#t`); anything else is a string.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import re
import signal
import sys
from typing import Any

from .lang.errors import TurmericError
from .lang.printer import pr_str
from .workflow import DEFAULT_LEASE, DEFAULT_QUEUE, Worker, WorkflowError, WorkflowRow, Workflows

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?([eE][+-]?\d+)?|\.\d+)")
_LITERAL_WORDS = {"nil", "true", "false", "#t", "#f"}


def literal(text: str) -> Any:
    """A command-line argument as a Turmeric value: a literal if it reads as one, else the text."""
    from .lang.reader import read_one

    if _NUMBER.fullmatch(text) or text in _LITERAL_WORDS or text[:1] in ('"', ":", "[", "{"):
        try:
            return read_one(text, "<command line>")
        except TurmericError:
            return text
    return text


def _app(args: argparse.Namespace) -> Any:
    from .web.app import App

    for module in getattr(args, "imports", None) or []:
        sys.path.insert(0, os.getcwd())
        __import__(module)
    return App(args.app_dir, store=args.store)


def _when(t: float | None) -> str:
    if not t:
        return "-"
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe(engine: Workflows, row: WorkflowRow) -> str:
    """What `tmweb workflow show` prints for one workflow."""
    lines = [
        f"workflow {row.id}",
        f"  function:   {row.fn}",
        f"  status:     {row.status}",
        f"  queue:      {row.queue}",
        f"  started:    {_when(row.created)}",
        f"  updated:    {_when(row.updated)}",
        f"  checkpoint: {row.checkpoint or '-'} ({row.checkpoint_bytes} bytes, {row.checkpoints} written)",
        f"  steps done: {', '.join(row.steps) if row.steps else '-'}",
    ]
    if row.status == "sleeping":
        lines.append(f"  wakes at:   {_when(row.wake_at)}")
    if row.status == "waiting":
        lines.append(f"  waiting for the signal {row.waiting_for!r}")
    if row.status == "running":
        lines.append(f"  lease:      {row.lease_owner} until {_when(row.lease_until)}")
    if row.status == "done":
        try:
            lines.append(f"  result:     {pr_str(engine.value(row.result))}")
        except TurmericError as e:
            lines.append(f"  result:     (cannot be loaded: {e.message})")
    if row.error:
        lines.append("  error:")
        lines.extend("    " + line for line in row.error.splitlines())
    return "\n".join(lines)


async def _with_engine(args: argparse.Namespace, fn: Any) -> int:
    app = _app(args)
    engine: Workflows = app.workflows
    try:
        return int(await fn(app, engine))
    except WorkflowError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        await engine.backend.close()


def cmd_start(args: argparse.Namespace) -> int:
    async def go(app: Any, engine: Workflows) -> int:
        module, _, name = args.function.rpartition("/")
        m = app.rt.modules.get(module)
        cell = m.cells.get(name) if m is not None and name else None
        if cell is None or not cell.bound:
            print(f"error: no function {args.function} in the app {app.app_dir}: write MODULE/FUNCTION, "
                  "like orders/process-order", file=sys.stderr)  # fmt: skip
            return 1
        wf_id = await engine.start(cell.value, tuple(literal(a) for a in args.args), queue=args.queue)
        print(wf_id)
        return 0

    return asyncio.run(_with_engine(args, go))


def cmd_list(args: argparse.Namespace) -> int:
    async def go(app: Any, engine: Workflows) -> int:
        rows = await engine.backend.list(args.status, args.limit)
        for r in rows:
            where = r.checkpoint or "-"
            print(f"{r.id}  {r.status:<8}  {r.fn}  {where}  {_when(r.updated)}")
        if not rows:
            print("no workflows" + (f" with the status {args.status}" if args.status else ""))
        return 0

    return asyncio.run(_with_engine(args, go))


def cmd_show(args: argparse.Namespace) -> int:
    async def go(app: Any, engine: Workflows) -> int:
        print(describe(engine, await engine.get(args.id)))
        return 0

    return asyncio.run(_with_engine(args, go))


def cmd_signal(args: argparse.Namespace) -> int:
    async def go(app: Any, engine: Workflows) -> int:
        await engine.signal(args.id, args.name, literal(args.value) if args.value is not None else None)
        print(f"signal {args.name!r} sent to {args.id}")
        return 0

    return asyncio.run(_with_engine(args, go))


def cmd_retry(args: argparse.Namespace) -> int:
    async def go(app: Any, engine: Workflows) -> int:
        await engine.backend.retry(args.id)
        print(f"{args.id} will be resumed from its last checkpoint")
        return 0

    return asyncio.run(_with_engine(args, go))


def cmd_check(args: argparse.Namespace) -> int:
    """Every unfinished workflow and live web continuation the current code cannot resume,
    and why; exit 1 if any."""
    from .lang.serial import deserialize

    async def go(app: Any, engine: Workflows) -> int:
        rows = [r for s in ("ready", "running", "sleeping", "waiting", "failed") for r in await engine.backend.list(s, 1_000_000)]
        bad = 0
        for r in rows:
            try:
                if r.state is not None:
                    deserialize(app.rt, (await engine.state_bytes(r))[0])
            except TurmericError as e:
                bad += 1
                print(f"{r.id} ({r.status}, {r.fn}, at {r.checkpoint or 'its start'}): cannot be resumed: {e.message}")
        print(f"{len(rows) - bad} of {len(rows)} unfinished workflows can be resumed by the current code")
        records = await stored_records(app)
        bad_k = 0
        for key, blob in records:
            try:
                deserialize(app.rt, blob)
            except TurmericError as e:
                bad_k += 1
                print(f"continuation {key[:8]}…: cannot be resumed: {e.message}")
        print(f"{len(records) - bad_k} of {len(records)} live web continuations can be resumed by the current code")
        return 1 if bad or bad_k else 0

    return asyncio.run(_with_engine(args, go))


async def stored_records(app: Any) -> list[tuple[str, bytes]]:
    """(key, blob) of every live web continuation in the app's store whose record checks
    out with the app's keys (a record that does not is never loaded, as when served)."""
    import json
    import struct

    from .web.records import MAGIC, RecordExpired, RecordMeta, RecordTampered, unseal

    store = app.store
    raw: list[bytes] = []
    path = getattr(store, "path", None)
    if isinstance(path, str):
        import sqlite3

        if os.path.exists(path):
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                raw = [d for (d,) in conn.execute("SELECT data FROM continuations")]
            except sqlite3.OperationalError:  # no continuations table yet
                raw = []
            finally:
                conn.close()
    else:
        client = store._redis() if hasattr(store, "_redis") else None
        if client is not None:
            async for key in client.scan_iter(f"{store.prefix}*"):
                kind = await client.type(key)
                if kind == b"string":
                    raw.append(await client.get(key) or b"")
                elif kind == b"hash":
                    raw.append(await client.hget(key, "data") or b"")
    out = []
    keys = app.tokens.secret_keys
    for data in raw:
        if not data.startswith(MAGIC):
            continue  # a flow's done-url note, not a continuation
        (n,) = struct.unpack_from(">I", data, len(MAGIC))
        try:
            meta = RecordMeta(**json.loads(data[len(MAGIC) + 4 : len(MAGIC) + 4 + n]))
            out.append((meta.key, unseal(keys, data, meta, app.tokens.clock())))
        except (RecordExpired, RecordTampered, ValueError, TypeError):
            continue
    return out


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    async def go(app: Any, engine: Workflows) -> int:
        worker = Worker(engine, args.queue, lease=args.lease, concurrency=args.concurrency, poll=args.poll)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, worker.stop)
        await worker.run()
        return 0

    return asyncio.run(_with_engine(args, go))


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("app_dir", help="the app folder")
    p.add_argument("--store", default=None, help="redis://... or sqlite:///... (default: TMWEB_STORE or the app's SQLite file)")


def add_commands(sub: Any, guard: Any) -> None:
    """Register `worker` and `workflow` on the `tmweb` parser; `guard` runs a command."""
    w = sub.add_parser("worker", help="run the app's durable workflows (claims them with leases)")
    _common(w)
    w.add_argument("--queue", default=DEFAULT_QUEUE, help="the queue whose workflows to run (default: default)")
    w.add_argument("--lease", type=float, default=float(os.environ.get("TMWEB_WORKFLOW_LEASE", DEFAULT_LEASE)),
                   help="seconds a claimed workflow stays this worker's without a heartbeat (default 30; env TMWEB_WORKFLOW_LEASE)")
    w.add_argument("--concurrency", type=int, default=8, help="workflows run at once (default 8)")
    w.add_argument("--poll", type=float, default=0.5, help="longest pause between two looks at the store (default 0.5 s)")
    w.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE",
                   help="a Python module to import first (registers Python functions)")
    w.set_defaults(fn=lambda a: guard(lambda: cmd_worker(a)))

    wf = sub.add_parser("workflow", help="start, list, show, signal, retry and check durable workflows")
    cmds = wf.add_subparsers(dest="workflow_command", required=True)
    s = cmds.add_parser("start", help="start MODULE/FUNCTION with ARGS; prints the workflow id")
    _common(s)
    s.add_argument("function", help="MODULE/FUNCTION, like orders/process-order")
    s.add_argument("args", nargs="*", help="arguments, read as Turmeric literals (7, \"x\", :k, [1 2]) or else strings")
    s.add_argument("--queue", default=DEFAULT_QUEUE)
    s.set_defaults(fn=lambda a: guard(lambda: cmd_start(a)))
    ls = cmds.add_parser("list", help="the app's workflows, newest first")
    _common(ls)
    ls.add_argument("--status", choices=["ready", "running", "sleeping", "waiting", "done", "failed"])
    ls.add_argument("--limit", type=int, default=100)
    ls.set_defaults(fn=lambda a: guard(lambda: cmd_list(a)))
    sh = cmds.add_parser("show", help="one workflow: status, last checkpoint and its size, steps, result or error")
    _common(sh)
    sh.add_argument("id")
    sh.set_defaults(fn=lambda a: guard(lambda: cmd_show(a)))
    sg = cmds.add_parser("signal", help="send a signal NAME with VALUE to a workflow")
    _common(sg)
    sg.add_argument("id")
    sg.add_argument("name")
    sg.add_argument("value", nargs="?", help="read as a Turmeric literal, else a string (default nil)")
    sg.set_defaults(fn=lambda a: guard(lambda: cmd_signal(a)))
    rt = cmds.add_parser("retry", help="resume a failed workflow from its last checkpoint (after fixing its code)")
    _common(rt)
    rt.add_argument("id")
    rt.set_defaults(fn=lambda a: guard(lambda: cmd_retry(a)))
    ck = cmds.add_parser("check", help="list the unfinished workflows and live web continuations the current code cannot resume, and why")
    _common(ck)
    ck.set_defaults(fn=lambda a: guard(lambda: cmd_check(a)))
