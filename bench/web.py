"""Flows per second of the add-two-numbers flow (GET, POST, POST): tmweb vs hand-written.

Both servers run as `uvicorn`-served subprocesses with 1 worker and state in the same
Redis; a keep-alive async client (httpx) drives complete flows with a few concurrent
users for a fixed time. Writes its table to docs/benchmarks.md (section `web`).

    python bench/web.py [--seconds 10] [--users 8] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from bench.docsection import write_section  # noqa: E402

ACTION = re.compile(r'action="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


async def one_flow(c: httpx.AsyncClient, base: str) -> None:
    """One visitor (a new browser): GET, POST, POST, as a browser sends them."""
    r = await c.get(base + "/add")
    # tmweb binds continuations to the browser's session cookie; in production it is
    # Secure, which httpx keeps for HTTPS only, so the "browser" sends it back by hand
    session = r.headers.get("set-cookie", "").split(";", 1)[0]
    h = {"cookie": session} if session else {}
    url = ACTION.search(r.text).group(1)
    r = await c.post(base + url, data={"n": "3"}, headers=h)
    if r.status_code == 303:  # tmweb's Post/Redirect/Get: the browser GETs the next step
        r = await c.get(base + r.headers["location"], headers=h)
    url = ACTION.search(r.text).group(1)
    r = await c.post(base + url, data={"n": "4"}, headers=h)
    assert "7" in r.text, r.text


async def drive(base: str, seconds: float, users: int) -> float:
    limits = httpx.Limits(max_keepalive_connections=users, max_connections=users)
    async with httpx.AsyncClient(limits=limits, timeout=30) as c:
        for _ in range(5):  # warm up
            await one_flow(c, base)
        done = 0
        stop = time.perf_counter() + seconds

        async def user() -> None:
            nonlocal done
            while time.perf_counter() < stop:
                await one_flow(c, base)
                done += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(users)))
        return done / (time.perf_counter() - t0)


def start_redis() -> tuple[subprocess.Popen | None, str]:
    port = free_port()
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is needed: apt-get install redis-server")
    p = subprocess.Popen([exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p, f"redis://127.0.0.1:{port}/0"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--redis", default=None)
    args = ap.parse_args()
    redis_proc = None
    url = args.redis
    if url is None:
        redis_proc, url = start_redis()
    env = {**os.environ, "TMWEB_ENV": "production", "TMWEB_SECRET_KEY": "bench-key-of-at-least-32-bytes-for-production", "BENCH_REDIS": url}
    results = {}
    shares: dict[str, tuple[float, float]] = {}  # name -> (client, server) CPU share of a core
    try:
        for name, cmd in (
            ("tmweb", [sys.executable, "-m", "tmweb.cli", "serve", str(ROOT / "bench" / "web_app"),
                       "--store", url, "--workers", "1"]),
            ("tmweb --no-redirect-after-post", [sys.executable, "-m", "tmweb.cli", "serve",
                       str(ROOT / "bench" / "web_app"), "--store", url, "--workers", "1",
                       "--no-redirect-after-post"]),
            ("hand-written Starlette", [sys.executable, "-m", "uvicorn", "bench.handwritten:app",
                                        "--log-level", "warning", "--no-access-log"]),
        ):
            port = free_port()
            full = [*cmd, "--port", str(port)]
            p = subprocess.Popen(full, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                wait_port(port)
                c0, s0, w0 = time.process_time(), cpu_seconds(p.pid), time.perf_counter()
                results[name] = asyncio.run(drive(f"http://127.0.0.1:{port}", args.seconds, args.users))
                wall = time.perf_counter() - w0
                shares[name] = ((time.process_time() - c0) / wall, (cpu_seconds(p.pid) - s0) / wall)
            finally:
                p.terminate()
                p.wait(10)
    finally:
        if redis_proc is not None:
            redis_proc.terminate()
    ratio = results["tmweb"] / results["hand-written Starlette"]
    no_prg = results["tmweb --no-redirect-after-post"] / results["hand-written Starlette"]
    table = (
        "| server | flows/s (GET, POST, POST) | server CPU | client CPU |\n|---|---:|---:|---:|\n"
        + "".join(
            f"| {k} | {v:,.1f} | {shares[k][1]:.0%} | {shares[k][0]:.0%} |\n" for k, v in results.items()
        )
        + f"\ntmweb / hand-written: **{ratio:.2f}x** (bar 0.5x, goal 0.8x); without "
        f"Post/Redirect/Get {no_prg:.2f}x. By default tmweb answers the first POST with a 303 "
        "and the client GETs the next page (4 requests per flow, the page built twice), which "
        "the hand-written version does not do. CPU is the share of one core each process used "
        "during the run (2 cores here): a client near 100% would be the bottleneck. "
        + (
            "**This run's client used over 85% of a core: the ratios are bounded by the client "
            "(a Python httpx loop), not a measure of the servers.** "
            if max(c for c, _ in shares.values()) > 0.85 else ""
        )
        + f"{args.users} concurrent users, {args.seconds:.0f} s each, 1 uvicorn worker, Redis store, "
        f"access log on for tmweb (its default), {time.strftime('%Y-%m-%d')}.\n"
    )
    print(table)
    write_section("web", "Web flows", table)


if __name__ == "__main__":
    main()
