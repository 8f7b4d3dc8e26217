"""Drive complete flows against a server with simulated users, in one or more processes.

Each user is a `Browser` (its own keep-alive connection and cookies) that does the
add-two-numbers flow again and again: GET /add, submit 3, submit 4, check the sum. Users
are spread over `procs` client processes (so the client is not the bottleneck); each
process warms up, waits at a barrier with the others, runs for `seconds` (or until
`flows` flows are done in all), and reports its flows, elapsed time, latencies and the CPU
it used. `run` sums the rates and merges the latencies.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing as mp
import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from bench.httpclient import Browser, HTTPError, Stats

#: Sent by every navigation: a person's click in a browser with Fetch Metadata.
BROWSER_HEADERS = {"sec-fetch-user": "?1", "sec-fetch-mode": "navigate"}


async def add_flow(b: Browser) -> None:
    """The bench's flow: GET /add, POST 3, POST 4 (with any redirects), answer 7."""
    page = await b.navigate("GET", "/add")
    page = await b.submit(page, {"n": "3"})
    page = await b.submit(page, {"n": "4"})
    if page.status != 200 or b"<strong>7</strong>" not in page.body:
        raise HTTPError(f"flow ended with {page.status} at {page.url}: {page.text[:200]!r}")


@dataclass
class Result:
    """What one or more client processes measured."""

    flows: int = 0
    rate: float = 0.0  # flows/s, summed over processes
    elapsed: float = 0.0  # longest process's measured time
    client_cpu: float = 0.0  # CPU seconds of all client processes while measuring
    max_proc_share: float = 0.0  # the busiest client process's share of a core
    procs: int = 1
    latencies: dict[str, array] = field(default_factory=dict)

    def percentile(self, q: float, method: str | None = None) -> float:
        """Latency in seconds at quantile `q` (0..1), of `method` or of every request."""
        if method is None:
            values = sorted(v for arr in self.latencies.values() for v in arr)
        else:
            values = sorted(self.latencies.get(method, ()))
        if not values:
            return math.nan
        return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]

    @property
    def requests(self) -> int:
        return sum(len(a) for a in self.latencies.values())


async def _drive(host: str, port: int, users: int, seconds: float | None, flows: int | None,
                 warmup: int, start: Any = None, record: bool = True) -> tuple[int, float, float, Stats]:
    stats = Stats(recording=False)
    browsers = [Browser(host, port, stats, BROWSER_HEADERS) for _ in range(users)]
    try:
        for i in range(warmup):  # connections opened, sessions made, code paths warm
            await add_flow(browsers[i % users])
        if start is not None:
            await asyncio.to_thread(start.wait)
        stats.recording = record
        done = 0
        left = [flows if flows is not None else -1]
        t0 = time.perf_counter()
        stop = t0 + seconds if seconds is not None else math.inf
        c0 = time.process_time()

        async def user(b: Browser) -> None:
            nonlocal done
            while time.perf_counter() < stop and left[0] != 0:
                left[0] -= 1
                await add_flow(b)
                done += 1

        await asyncio.gather(*(user(b) for b in browsers))
        elapsed = time.perf_counter() - t0
        return done, elapsed, time.process_time() - c0, stats
    finally:
        for b in browsers:
            await b.close()


def _child(conn: Any, start: Any, host: str, port: int, users: int, seconds: float | None,
           flows: int | None, warmup: int, record: bool) -> None:
    try:
        done, elapsed, cpu, stats = asyncio.run(_drive(host, port, users, seconds, flows, warmup, start, record))
        conn.send(("ok", done, elapsed, cpu, {k: v.tobytes() for k, v in stats.latencies.items()}))
    except BaseException as e:  # reported to the parent, which raises it with context
        start.abort()
        conn.send(("error", f"{type(e).__name__}: {e}"))
    finally:
        conn.close()


def run(host: str, port: int, users: int, *, seconds: float | None = None, flows: int | None = None,
        procs: int = 1, warmup: int = 5, record: bool = True) -> Result:
    """Measure `users` concurrent users for `seconds`, or for `flows` flows in total."""
    if (seconds is None) == (flows is None):
        raise ValueError("give seconds or flows, not both")
    procs = max(1, min(procs, users))
    if procs == 1:
        done, elapsed, cpu, stats = asyncio.run(_drive(host, port, users, seconds, flows, warmup, None, record))
        share = cpu / elapsed if elapsed else 0.0
        return Result(done, done / elapsed, elapsed, cpu, share, 1, stats.latencies)
    ctx = mp.get_context("fork")
    start = ctx.Barrier(procs)
    pipes, children = [], []
    for i in range(procs):
        n_users = users // procs + (i < users % procs)
        n_flows = None if flows is None else flows // procs + (i < flows % procs)
        parent, child = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_child, args=(child, start, host, port, n_users, seconds, n_flows,
                                             max(1, warmup // procs), record), daemon=True)
        p.start()
        child.close()
        pipes.append(parent)
        children.append(p)
    result = Result(procs=procs)
    errors = []
    for parent, p in zip(pipes, children):
        try:
            msg = parent.recv()
        except EOFError:
            msg = ("error", f"client process {p.pid} died (exit code {p.exitcode})")
        p.join(10)
        if msg[0] == "error":
            errors.append(msg[1])
            continue
        _, done, elapsed, cpu, lat = msg
        result.flows += done
        result.rate += done / elapsed
        result.elapsed = max(result.elapsed, elapsed)
        result.client_cpu += cpu
        result.max_proc_share = max(result.max_proc_share, cpu / elapsed)
        for method, raw in lat.items():
            arr = result.latencies.setdefault(method, array("d"))
            arr.frombytes(raw)
    if errors:
        raise HTTPError("client failed: " + "; ".join(errors))
    return result
