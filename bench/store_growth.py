"""What one client can add to the continuation store, with and without a session cookie.

Runs the example app under `tmweb serve` (embedded SQLite store, or `--redis URL`) and
drives it as an abuser would: many GETs of `/add` (each starts a flow and keeps one step),
and many POSTs of a large rejected value to one step (the example keeps what was typed, so
each rejection keeps it again). Then reads what the store holds. Writes its table to
docs/benchmarks.md (section `store-growth`).

    python bench/store_growth.py [--requests 2000] [--redis redis://127.0.0.1:6379/0]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from bench.docsection import machine_info, write_section  # noqa: E402
from bench.web import free_port, wait_port  # noqa: E402

ACTION = re.compile(r'action="([^"]*/k/[^"]+)"')
KEY = "store-growth-bench-key-0123456789abcdef"


def stored(app: Path, redis_url: str | None) -> tuple[int, int]:
    """(records, bytes) of continuations in the store."""
    if redis_url:
        import redis

        r = redis.Redis.from_url(redis_url)
        try:
            sizes = [r.hstrlen(k, "data") or r.strlen(k) for k in r.scan_iter("tmweb:*:k:*")]
        finally:
            r.close()
        return len(sizes), sum(sizes)
    with sqlite3.connect(app / ".tmweb" / "continuations.sqlite3") as db:
        n, size = db.execute("SELECT count(*), total(length(data)) FROM continuations").fetchone()
    db.close()
    return n, int(size)


def start(app: Path, redis_url: str | None, *flags: str) -> subprocess.Popen[bytes]:
    port = free_port()
    cmd = [sys.executable, "-m", "tmweb.cli", "serve", str(app), "--port", str(port),
           "--secret-key", KEY, *flags]  # fmt: skip
    if redis_url:
        cmd += ["--store", redis_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    proc.base = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    return proc


def scenario(name: str, requests: int, redis_url: str | None, drive, *flags: str) -> list[str]:
    folder = Path(tempfile.mkdtemp(prefix="tmweb-growth-"))
    app = folder / "app"
    shutil.copytree(ROOT / "example_app", app, ignore=shutil.ignore_patterns(".tmweb"))
    if redis_url:
        import redis

        redis.Redis.from_url(redis_url).flushdb()
    proc = start(app, redis_url, *flags)
    try:
        t0 = time.perf_counter()
        sent = drive(proc.base, requests)  # type: ignore[attr-defined]
        seconds = time.perf_counter() - t0
        n, size = stored(app, redis_url)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    per = size / requests if requests else 0
    return [name, " ".join(flags) or "defaults", f"{requests:,}", f"{sent / 1e6:.1f} MB",
            f"{n:,}", f"{size / (1 << 20):.1f} MiB", f"{per / 1024:.1f} KiB", f"{seconds:.1f} s"]  # fmt: skip


def gets(cookies: bool):
    def drive(base: str, n: int) -> int:
        with httpx.Client(base_url=base) as c:
            for _ in range(n):
                c.get("/add")
                if not cookies:
                    c.cookies.clear()
        return 0
    return drive


def big_posts(base: str, n: int) -> int:
    """POSTs of an 80 kB value the form rejects, each to the step the last one made."""
    value = "x" * 80_000
    with httpx.Client(base_url=base) as c:
        url = ACTION.search(c.get("/add").text).group(1)
        for _ in range(n):
            r = c.post(url, data={"n": value}, follow_redirects=True)
            url = ACTION.search(r.text).group(1)
    return n * len(value)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--redis", default=None, help="measure a Redis store (it is flushed!)")
    p.add_argument("--no-write", action="store_true", help="print the table only")
    a = p.parse_args()
    n = a.requests
    rows = [
        scenario("GET /add, with the session cookie", n, a.redis, gets(True)),
        scenario("GET /add, no cookie (a new session each)", n, a.redis, gets(False)),
        scenario("POST 80 kB rejected values, with the cookie", n // 4, a.redis, big_posts),
    ]
    if not a.redis:
        rows.append(scenario("GET /add, no cookie (a new session each)", n, None, gets(False),
                             "--store-max-bytes", "2MiB"))  # fmt: skip
    head = ["client", "server flags", "requests", "sent", "records kept", "bytes kept",
            "kept per request", "time"]  # fmt: skip
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    store = "Redis" if a.redis else "the embedded SQLite store"
    body = (
        f"Measured {time.strftime('%Y-%m-%d')} on {machine_info()}; the example app under "
        f"`tmweb serve` on {store}, default budgets (500 continuations and 8 MiB per session, "
        "256 KiB per continuation). Written by `python bench/store_growth.py`.\n\n"
        + "\n".join(lines)
    )
    print(body)
    if not a.no_write:
        write_section("store-growth", "What one client can add to the store", body)


if __name__ == "__main__":
    main()
