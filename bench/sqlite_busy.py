"""Store-level latency of SQLiteStore with one and two processes writing one file.

Each process runs 4 concurrent tasks, each doing `--ops` put-then-take pairs (the writes
of a flow step), and records each call's latency. With two processes the write lock is
contended, which is where SQLite's own busy handler (sleeps of 1, 2, 5, 10... ms) showed
in the tail; see docs/decisions.md (issue 12). Prints; writes nothing.

    python bench/sqlite_busy.py [--ops 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import secrets
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from tmweb.web.stores.sqlite import SQLiteStore  # noqa: E402


def worker(path: str, ops: int, out: mp.Queue) -> None:
    async def main() -> list[float]:
        store = SQLiteStore(path)
        lat: list[float] = []

        async def task() -> None:
            for _ in range(ops):
                key = secrets.token_hex(8)
                t = time.perf_counter()
                await store.put(key, b"x" * 600, 3600, False, "f" + key)
                lat.append(time.perf_counter() - t)
                t = time.perf_counter()
                await store.get(key, True, "f" + key)
                lat.append(time.perf_counter() - t)

        await asyncio.gather(*(task() for _ in range(4)))
        await store.close()
        return lat

    out.put(asyncio.run(main()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ops", type=int, default=1500, help="put/take pairs per task")
    args = ap.parse_args()
    for procs in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "store.db")
            asyncio.run(SQLiteStore(path).ping())
            out: mp.Queue = mp.Queue()
            ps = [mp.Process(target=worker, args=(path, args.ops, out)) for _ in range(procs)]
            t0 = time.perf_counter()
            for p in ps:
                p.start()
            lat = sorted(x for _ in ps for x in out.get())
            for p in ps:
                p.join()
            wall = time.perf_counter() - t0
        n = len(lat)
        p50, p99 = lat[n // 2] * 1000, lat[int(n * 0.99)] * 1000
        print(f"{procs} process(es): {n / wall:,.0f} calls/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms  "
              f"max {lat[-1] * 1000:.1f} ms  over 5 ms: {sum(x > 0.005 for x in lat)} of {n}")


if __name__ == "__main__":
    main()
