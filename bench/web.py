"""Flows per second and latency of the add-two-numbers flow: tmweb vs hand-written Starlette.

Each server runs as a `uvicorn`-served subprocess; simulated users (bench/load.py, a raw
asyncio HTTP/1.1 keep-alive client that follows redirects and keeps cookies like a
browser) do complete flows for a fixed time, at each `--users` level. The client runs in
as many processes as it needs to stay under ~40% of a core each (`--client-procs auto`:
a short probe at each level measures one process's share first), and its CPU share is
reported beside the result, so a reader can see the servers, not the client, set the pace.

Tables (written to docs/benchmarks.md, section `web`):

- Redis store, 1 worker: tmweb with every default on (session binding, sealed records,
  flows, Post/Redirect/Get), tmweb without PRG, and the hand-written app with and without
  PRG (bench/handwritten.py);
- SQLite store: tmweb with 1 and 2 workers (POST latency and flows/s).

`--memory` instead measures the RSS of a tmweb worker after `--memory-base` flows and
after `--memory-flows` (section `web-memory`).

    python bench/web.py [--seconds 8] [--users 8,64] [--only redis,sqlite] [--no-write]
    python bench/web.py --memory [--memory-flows 100000] [--memory-base 1000]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from bench.docsection import machine_info, write_section  # noqa: E402
from bench.load import Result, run  # noqa: E402

HOST = "127.0.0.1"
SECRET = "bench-key-of-at-least-32-bytes-for-production"
#: A client process above this share of a core may be slowing the run down.
CLIENT_SHARE_LIMIT = 0.40
MAX_CLIENT_PROCS = 4
TMWEB_APP = str(ROOT / "bench" / "web_app")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server on port {port} did not start in {timeout:.0f} s:\n{log.read_text()[-2000:]}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` so far (Linux /proc); 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def family(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, ()))
    return found


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Server:
    """One server subprocess on a free port, stopped on exit; its output goes to a log file."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], workdir: Path) -> None:
        self.name = name
        self.port = free_port()
        self.log = workdir / f"{name.replace(' ', '_').replace('/', '_')}.log"
        self._out = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([*cmd, "--port", str(self.port)], cwd=ROOT, env=env,
                                     stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True)

    def __enter__(self) -> Server:
        try:
            wait_port(self.port, self.proc, self.log)
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)
        self._out.close()

    def cpu(self) -> float:
        return sum(cpu_seconds(p) for p in family(self.proc.pid))


@dataclass
class Row:
    name: str
    users: int
    result: Result
    server_share: float  # of one core, all the server's processes together


def measure(server: Server, users: int, seconds: float, procs: int | str) -> Row:
    """One measured run at `users` (after a probe to size the client, if `procs` is auto)."""
    if procs == "auto":
        probe = run(HOST, server.port, users, seconds=1.5, procs=1, record=False)
        procs = min(MAX_CLIENT_PROCS, max(1, math.ceil(probe.max_proc_share / CLIENT_SHARE_LIMIT)))
    c0, w0 = server.cpu(), time.perf_counter()
    result = run(HOST, server.port, users, seconds=seconds, procs=int(procs))
    share = (server.cpu() - c0) / (time.perf_counter() - w0)
    r = Row(server.name, users, result, share)
    print(f"  {server.name:<34} {users:>3} users: {result.rate:8.1f} flows/s  "
          f"p50 {ms(result.percentile(0.5))} p99 {ms(result.percentile(0.99))} ms  "
          f"POST p50 {ms(result.percentile(0.5, 'POST'))}  server {share:.0%}  "
          f"client {result.client_cpu / result.elapsed:.0%} in {result.procs}", flush=True)
    return r


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def start_redis(workdir: Path) -> tuple[subprocess.Popen, str]:
    exe = shutil.which("redis-server")
    if exe is None:
        raise SystemExit("redis-server is needed: apt-get install redis-server")
    port = free_port()
    log = workdir / "redis.log"
    p = subprocess.Popen([exe, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no",
                          "--dir", str(workdir)], stdout=open(log, "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    wait_port(port, p, log)
    return p, f"redis://{HOST}:{port}/0"


def tmweb_cmd(store: str, workers: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "tmweb.cli", "serve", TMWEB_APP, "--store", store,
            "--workers", str(workers), *extra]


def hand_cmd(app: str) -> list[str]:
    # uvicorn's defaults, as `tmweb serve` keeps them: an access log line per request
    return [sys.executable, "-m", "uvicorn", f"bench.handwritten:{app}", "--host", HOST]


def env_for(redis_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TMWEB_")}
    env.update(TMWEB_ENV="production", TMWEB_SECRET_KEY=SECRET, BENCH_REDIS=redis_url,
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return env


def run_configs(configs: list[tuple[str, list[str]]], env: dict[str, str], workdir: Path,
                users: list[int], seconds: float, procs: int | str) -> list[Row]:
    rows = []
    for name, cmd in configs:
        with Server(name, cmd, env, workdir) as server:
            for u in users:
                rows.append(measure(server, u, seconds, procs))
    return rows


def client_cell(r: Result) -> str:
    flag = " ⚠" if r.max_proc_share > CLIENT_SHARE_LIMIT else ""
    return f"{r.client_cpu / r.elapsed:.0%} ({r.procs} proc, max {r.max_proc_share:.0%}){flag}"


def redis_table(rows: list[Row], users: list[int]) -> str:
    out = ["| server | users | flows/s | p50 ms | p99 ms | server CPU | client CPU |",
           "|---|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        r = row.result
        out.append(f"| {row.name} | {row.users} | {r.rate:,.1f} | {ms(r.percentile(0.5))} | "
                   f"{ms(r.percentile(0.99))} | {row.server_share:.0%} | {client_cell(r)} |")
    by = {(row.name, row.users): row.result.rate for row in rows}
    out.append("")
    for u in users:
        parts = []
        for tm, hand in (("tmweb", "hand-written"), ("tmweb --no-redirect-after-post", "hand-written, no PRG")):
            if (tm, u) in by and (hand, u) in by:
                parts.append(f"{tm} / {hand}: **{by[tm, u] / by[hand, u]:.2f}x**")
        if parts:
            out.append(f"- {u} users: " + "; ".join(parts))
    return "\n".join(out) + "\n"


def sqlite_table(rows: list[Row], users: list[int]) -> str:
    out = ["| server | users | flows/s | POST p50 ms | POST p99 ms | p50 ms | p99 ms | server CPU | client CPU |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for row in rows:
        r = row.result
        out.append(f"| {row.name} | {row.users} | {r.rate:,.1f} | {ms(r.percentile(0.5, 'POST'))} | "
                   f"{ms(r.percentile(0.99, 'POST'))} | {ms(r.percentile(0.5))} | {ms(r.percentile(0.99))} | "
                   f"{row.server_share:.0%} | {client_cell(r)} |")
    by = {(row.name, row.users): row.result for row in rows}
    out.append("")
    for u in users:
        one, two = by.get(("tmweb, SQLite, 1 worker", u)), by.get(("tmweb, SQLite, 2 workers", u))
        if one and two:
            post = two.percentile(0.5, "POST") / one.percentile(0.5, "POST")
            out.append(f"- {u} users: 2 workers / 1 worker: POST median **{post:.2f}x** (bar: at most 2x), "
                       f"flows/s **{two.rate / one.rate:.2f}x** (bar: at least 1x)")
    return "\n".join(out) + "\n"


def flows_mode(args: argparse.Namespace, workdir: Path, redis_url: str) -> None:
    users = [int(u) for u in args.users.split(",")]
    env = env_for(redis_url)
    parts = []
    only = set(args.only.split(","))
    if "redis" in only:
        print("Redis store, 1 worker each:")
        rows = run_configs([
            ("tmweb", tmweb_cmd(redis_url, 1)),
            ("tmweb --no-redirect-after-post", tmweb_cmd(redis_url, 1, "--no-redirect-after-post")),
            ("hand-written", hand_cmd("app")),
            ("hand-written, no PRG", hand_cmd("app_no_prg")),
        ], env, workdir, users, args.seconds, args.client_procs)
        parts.append("### Redis store, 1 uvicorn worker each\n\n" + redis_table(rows, users))
    if "sqlite" in only:
        print("SQLite store:")
        configs = []
        for workers in (1, 2):
            db = workdir / f"sqlite-{workers}" / "store.db"
            db.parent.mkdir()
            configs.append((f"tmweb, SQLite, {workers} worker{'s' if workers > 1 else ''}",
                            tmweb_cmd(f"sqlite:///{db}", workers)))
        rows = run_configs(configs, env, workdir, users, args.seconds, args.client_procs)
        parts.append("### SQLite store, 1 and 2 uvicorn workers\n\n" + sqlite_table(rows, users))
    body = (
        "### Web flows: tmweb vs hand-written Starlette (`python bench/web.py`)\n\n"
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
        f"- Machine: {machine_info()}; load average before the run {args.load_before}\n"
        f"- Method: each server in its own process (uvicorn with the same defaults for both, an access log line per request to a file; tmweb's also hides tokens), {args.seconds:g} s "
        f"per row after a warm-up, the flow GET /add, POST 3, POST 4 (with Post/Redirect/Get each POST "
        "answers a 303, followed by a GET of the next page, then of the kept answer: 5 requests per "
        "flow, else 3). The client is "
        "bench/httpclient.py, a raw asyncio HTTP/1.1 keep-alive client, one connection and one cookie "
        "jar per simulated user, each user doing flows back to back; it runs in as many processes as "
        f"keep each under {CLIENT_SHARE_LIMIT:.0%} of a core (a 1.5 s probe decides), ⚠ marks a row "
        "where one was above. Latency is per request (send to last byte), all requests of the run. "
        "CPU is the share of one core used during the row: all the server's processes together, all "
        "client processes together. tmweb runs with `TMWEB_ENV=production` and every default on "
        "(session binding, sealed records, flows, Post/Redirect/Get); the hand-written app "
        "(bench/handwritten.py) does the same work: signed session cookie, state in Redis under a "
        "signed token bound to the session, PRG (and the no-PRG variant). Bars (issue 12): tmweb at "
        "least 0.8x the hand-written app, goal 1.0x; SQLite with 2 workers: POST median at most 2x of "
        "1 worker's, flows/s at least 1x.\n\n"
        + "\n".join(parts)
    )
    print()
    print(body)
    if not args.no_write:
        write_section("web", "Web flows", body)


def memory_mode(args: argparse.Namespace, workdir: Path, redis_url: str) -> None:
    env = env_for(redis_url)
    users = int(args.users.split(",")[0])
    with Server("tmweb", tmweb_cmd(redis_url, 1), env, workdir) as server:
        pid = server.proc.pid  # with 1 worker, uvicorn serves in the process it was started as
        t0 = time.perf_counter()
        run(HOST, server.port, users, flows=args.memory_base, procs=1, record=False)
        base = rss_bytes(pid)
        print(f"RSS after {args.memory_base:,} flows: {base / 2**20:.1f} MiB", flush=True)
        more = args.memory_flows - args.memory_base
        r = run(HOST, server.port, users, flows=more, procs=2 if users > 1 else 1, warmup=0, record=False)
        after = rss_bytes(pid)
        wall = time.perf_counter() - t0
    growth = after / base - 1
    body = (
        "### Memory of a tmweb worker (`python bench/web.py --memory`)\n\n"
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
        f"- Machine: {machine_info()}\n"
        f"- Method: one tmweb worker (Redis store, every default on, `TMWEB_ENV=production`), {users} users "
        f"doing flows back to back (each flow GET, POST, 303, GET, POST, 303, GET); VmRSS of the worker from "
        f"/proc after {args.memory_base:,} flows and after {args.memory_flows:,} in all "
        f"({wall:.0f} s, {r.rate:,.0f} flows/s in the second part).\n\n"
        "| after flows | RSS MiB |\n|---:|---:|\n"
        f"| {args.memory_base:,} | {base / 2**20:.1f} |\n| {args.memory_flows:,} | {after / 2**20:.1f} |\n\n"
        f"Growth from {args.memory_base:,} to {args.memory_flows:,} flows: **{growth:+.1%}** "
        "(bar, issue 12: within 10% from 1,000 to 100,000 flows).\n"
    )
    print(body)
    if not args.no_write:
        write_section("web-memory", "Web memory", body)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=8, help="measured seconds per row")
    ap.add_argument("--users", default="8,64", help="concurrent users, comma-separated levels")
    ap.add_argument("--client-procs", default="auto", help="client processes per row, or auto")
    ap.add_argument("--only", default="redis,sqlite", help="which tables: redis, sqlite")
    ap.add_argument("--redis", default=None, help="an existing Redis to use (default: start one)")
    ap.add_argument("--memory", action="store_true", help="measure a worker's RSS instead")
    ap.add_argument("--memory-flows", type=int, default=100_000)
    ap.add_argument("--memory-base", type=int, default=1_000)
    ap.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args()
    if args.client_procs != "auto":
        args.client_procs = int(args.client_procs)
    args.load_before = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="tmweb-bench-") as tmp:
        workdir = Path(tmp)
        redis_proc = None
        url = args.redis
        if url is None:
            redis_proc, url = start_redis(workdir)
        try:
            if args.memory:
                memory_mode(args, workdir, url)
            else:
                flows_mode(args, workdir, url)
        finally:
            if redis_proc is not None:
                redis_proc.terminate()
                redis_proc.wait(10)


if __name__ == "__main__":
    main()
