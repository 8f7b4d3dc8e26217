"""Workflow benchmark: checkpoint latency, workflows per second, bytes per checkpoint.

Run from anywhere (a Redis server on 127.0.0.1:6379, or --redis URL; its keys are written
under a fresh prefix and deleted afterwards, nothing else is touched):

    python bench/workflows.py              # writes docs/benchmarks.md
    python bench/workflows.py --no-write   # print the section only

- **Checkpoint latency**: a workflow recurses 10 frames deep (each frame with five locals,
  as in bench/serialize.py) and checkpoints 200 times there; each checkpoint is timed from
  the call that stores it to its durable write (serialize `[k value]`, then the SQLite
  transaction or the Redis Lua script), and the median and 95th percentile are reported,
  with the serialization alone for comparison.
- **Workflows per second**: 500 workflows of one step each are started, then one
  in-process worker runs them all; started/s counts the starts, finished/s the runs.
- **Bytes per checkpoint**: the size of what each checkpoint writes, with incremental
  checkpoints (the manifest and the chunks not already stored for the workflow) and
  without (the whole continuation): for the 10-frame workflow (a continuation under the
  4 KiB below which it is always written whole) and for the seed's dataset checkpointing
  (10,000 items, a checkpoint every 1,000), where the continuation grows.

Timings are informational: nothing here asserts on them.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from bench.docsection import machine_info, write_section  # noqa: E402
from tmweb.lang.serial import serialize  # noqa: E402
from tmweb.lang.values import tvector  # noqa: E402
from tmweb.web.app import App  # noqa: E402
from tmweb.workflow import Worker  # noqa: E402
from tmweb.workflow.engine import RunCtx, Workflows  # noqa: E402
from tmweb.workflow.records import Save  # noqa: E402

KEY = "bench-workflows-secret-key-0123456789abcdef"
CHECKPOINTS = 200
STARTS = 500
DATASET = 10_000

FLOWS = """
(defn deep [n i]
  (let [a (* n 3) b (+ n 7) s (str "frame-" n) v [n (* n 2)] f (* n 1.5)]
    (if (= n 0)
      (do (for-each (fn [j] (checkpoint (str "c" j) j)) (range i)) :done)
      (let [r (deep (- n 1) i)] [r a b s v f]))))

(defn ten [i] (deep 9 i))

(defn one [i] (workflow/step "s" (fn [] (* i i))))

(defn analyze [n every]
  ;; the seed's dataset checkpointing
  (let [processed (ref [])]
    (for-each-with-index (range n)
      (fn [i item]
        (swap! processed conj {:item item :square (* item item) :label (str "item-" item)})
        (when (= (mod (+ i 1) every) 0) (checkpoint (str "after " (+ i 1)) i))))
    (count (deref processed))))
"""


class Timed(Workflows):
    """A `Workflows` that times each checkpoint (serialize + durable write)."""

    def __init__(self, inner: Workflows) -> None:
        super().__init__(inner.rt, inner.backend)
        self.times: list[float] = []
        self.serialize_times: list[float] = []
        self.sizes: list[int] = []
        self.last_size = 0

    async def save(self, ctx: RunCtx, k: Any, value: Any, save: Save) -> bytes | None:
        t0 = time.perf_counter()
        taken = await super().save(ctx, k, value, save)
        self.times.append(time.perf_counter() - t0)
        t1 = time.perf_counter()
        serialize(self.rt, tvector([k, value]))
        self.serialize_times.append(time.perf_counter() - t1)
        self.sizes.append(self.last_written)
        self.last_size = save.size
        return taken


def make_app(folder: Path, store: str | None) -> App:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "flows.tm").write_text(FLOWS)
    return App(str(folder), store=store, secret_key=KEY)


async def run_all(engine: Workflows, ids: list[str]) -> float:
    worker = Worker(engine, lease=30, poll=0.01, concurrency=8)
    t0 = time.perf_counter()
    task = asyncio.create_task(worker.run())
    pending = set(ids)
    while pending:
        await asyncio.sleep(0.01)
        for wf_id in list(pending)[:50]:
            if (await engine.get(wf_id)).status in ("done", "failed"):
                pending.discard(wf_id)
    elapsed = time.perf_counter() - t0
    worker.stop()
    await task
    return elapsed


async def measure(app: App, incremental: bool) -> dict[str, Any]:
    engine = Timed(app.workflows)
    engine.incremental = incremental
    app.workflows = engine
    ten = app.rt.modules["flows"].cells["ten"].value
    wf_id = await engine.start(ten, (CHECKPOINTS,))
    await run_all(engine, [wf_id])
    row = await engine.get(wf_id)
    assert row.status == "done", row.error
    out: dict[str, Any] = {
        "median": statistics.median(engine.times) * 1000,
        "p95": sorted(engine.times)[int(len(engine.times) * 0.95)] * 1000,
        "serialize": statistics.median(engine.serialize_times) * 1000,
        "bytes": statistics.median(engine.sizes[1:]) if len(engine.sizes) > 1 else engine.sizes[0],
        "first": engine.sizes[0],
    }
    engine.sizes.clear()
    engine.times.clear()
    analyze = app.rt.modules["flows"].cells["analyze"].value
    wf_id = await engine.start(analyze, (DATASET, DATASET // 10))
    await run_all(engine, [wf_id])
    out["dataset_bytes"] = statistics.median(engine.sizes[1:])
    out["dataset_size"] = engine.last_size
    out["dataset_latency"] = statistics.median(engine.times) * 1000
    one = app.rt.modules["flows"].cells["one"].value
    t0 = time.perf_counter()
    ids = [await engine.start(one, (i,)) for i in range(STARTS)]
    out["started"] = STARTS / (time.perf_counter() - t0)
    out["finished"] = STARTS / await run_all(engine, ids)
    return out


async def cleanup_redis(url: str, prefix: str) -> None:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(url)
    try:
        async for key in r.scan_iter(f"{prefix}*"):
            await r.delete(key)
    finally:
        await r.aclose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for store in ("SQLite", "Redis"):
            for incremental in (True, False):
                prefix = f"bench-wf-{uuid.uuid4().hex[:8]}:"
                url = None if store == "SQLite" else f"{args.redis}?prefix={prefix}"
                folder = Path(tmp) / f"{store}-{incremental}"
                app = make_app(folder, url)
                try:
                    r = asyncio.run(measure(app, incremental))
                finally:
                    if url:
                        asyncio.run(cleanup_redis(args.redis, prefix))
                rows.append((store, incremental, r))
                print(store, "incremental" if incremental else "whole", r, file=sys.stderr)
    lines = [
        f"Measured {_dt.date.today()} on {machine_info()}; SQLite in a temporary folder "
        f"(WAL, synchronous=NORMAL), Redis {args.redis.split('@')[-1]} on the same machine. "
        "`python bench/workflows.py` rewrites this section.",
        "",
        f"Checkpoint of a 10-frame workflow ({CHECKPOINTS} checkpoints; latency = serialize + durable write):",
        "",
        "| store | checkpoints | latency median | p95 | of which serialize | bytes written per checkpoint | first checkpoint |",
        "|---|---|---|---|---|---|---|",
    ]
    for store, incremental, r in rows:
        lines.append(
            f"| {store} | {'incremental' if incremental else 'whole'} | {r['median']:.2f} ms | {r['p95']:.2f} ms "
            f"| {r['serialize']:.2f} ms | {r['bytes']:,.0f} | {r['first']:,} |"
        )
    lines += [
        "",
        f"The seed's dataset checkpointing: {DATASET:,} items, a checkpoint every {DATASET // 10:,}; "
        "the continuation holds every item processed so far:",
        "",
        "| store | checkpoints | bytes written per checkpoint (median) | whole continuation at the end | latency median |",
        "|---|---|---|---|---|",
    ]
    for store, incremental, r in rows:
        lines.append(
            f"| {store} | {'incremental' if incremental else 'whole'} | {r['dataset_bytes']:,.0f} "
            f"| {r['dataset_size']:,} | {r['dataset_latency']:.2f} ms |"
        )
    lines += [
        "",
        f"Short workflows (one step each), {STARTS} started then run by one in-process worker (8 at a time):",
        "",
        "| store | checkpoints | started/s | finished/s |",
        "|---|---|---|---|",
    ]
    for store, incremental, r in rows:
        lines.append(f"| {store} | {'incremental' if incremental else 'whole'} | {r['started']:,.0f} | {r['finished']:,.0f} |")
    redis_ms = max(r["median"] for store, _, r in rows if store == "Redis")
    inc = next(r for store, i, r in rows if store == "SQLite" and i)
    whole = next(r for store, i, r in rows if store == "SQLite" and not i)
    lines += [
        "",
        f"Reading: a checkpoint of the 10-frame workflow takes at most {redis_ms:.2f} ms (median) to a "
        "local Redis, under the issue's goal of 1 ms; its continuation is under 4 KiB, so it is "
        "written whole either way (the two rows differ by noise). Where the continuation grows (the "
        f"dataset), incremental checkpoints write {inc['dataset_bytes'] / whole['dataset_bytes']:.2f}x "
        "the bytes of whole ones: the items processed before the previous checkpoint are chunks "
        "already stored, and each checkpoint writes its manifest, the new items and the few chunks "
        "around what changed. Its latency is then the serializer's (the whole continuation is still "
        "serialized, then cut and hashed). Finished/s is one worker process running one step per "
        "workflow (claim, run, step record with its checkpoint, end): three writes each.",
    ]
    body = "\n".join(lines) + "\n"
    print(body)
    if not args.no_write:
        write_section("workflows", "Durable workflows", body)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("TMWEB_ENV", "development")
    sys.exit(main())
