"""Flows in the SQLite store: the migration of a file of the first schema, the flows table,
and takes racing each other and `expire_flow` from separate OS processes on one file."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import tmweb
from tmweb.web.errors import StoreUnavailable
from tmweb.web.stores import OwnerLimits, SQLiteStore

pytestmark = pytest.mark.anyio

F, G = "f" * 32, "0123456789abcdef" * 2  # two flow ids, as the caller makes them


async def readable(store: SQLiteStore, key: str, flow: str | None) -> bytes | None:
    """What a plain get returns, then what a take returns (None if they disagree)."""
    got = await store.get(key, once=False, flow=flow)
    taken = await store.get(key, once=True, flow=flow)
    return got if got == taken else None


OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS continuations (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    expires REAL NOT NULL
)
"""


def make_old_file(path: Path) -> None:
    """A store file as tmweb made it before flows: one table, one row, in WAL mode."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(OLD_SCHEMA)
        conn.execute(
            "INSERT INTO continuations (key, data, expires) VALUES (?, ?, ?), (?, ?, ?)",
            ("old", b"kept", time.time() + 3600, "old-once", b"once", time.time() + 3600),
        )
    conn.close()


async def test_sqlite_migrates_a_file_of_the_first_schema(tmp_path) -> None:
    path = tmp_path / "continuations.sqlite3"
    make_old_file(path)
    s = SQLiteStore(str(path))
    try:
        assert await s.get("old", once=False) == b"kept"
        assert await s.get("old", once=False, flow=F) is None
        assert await s.get("old-once", once=True) == b"once"
        assert await s.get("old-once", once=True) is None
        await s.put("new", b"n", ttl=60, once=False, flow=F)
        await s.expire_flow(F)
        assert await s.get("new", once=False, flow=F) is None
        assert await s.get("old", once=False) == b"kept"
    finally:
        await s.close()
    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(continuations)")]
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
        # A worker still running the old code writes rows as before; they read back.
        conn.execute(
            "INSERT OR REPLACE INTO continuations (key, data, expires) VALUES (?, ?, ?)",
            ("by-old-code", b"o", time.time() + 60),
        )
    conn.close()
    assert columns == ["key", "data", "expires", "flow", "gen", "owner", "size"]
    assert "flows" in tables
    s = SQLiteStore(str(path))
    try:
        assert await s.get("by-old-code", once=True) == b"o"
        assert await s.get("old", once=True) == b"kept"
    finally:
        await s.close()


async def test_sqlite_two_workers_opening_an_old_file_at_once_migrate_it_once(tmp_path) -> None:
    path = tmp_path / "continuations.sqlite3"
    make_old_file(path)
    stores = [SQLiteStore(str(path)) for _ in range(4)]
    try:
        await asyncio.gather(*(s.ping() for s in stores))
        got = await asyncio.gather(*(s.get("old", once=False) for s in stores))
        assert got == [b"kept"] * 4
    finally:
        await asyncio.gather(*(s.close() for s in stores))


async def test_sqlite_the_flow_row_lasts_as_long_as_its_latest_record(tmp_path) -> None:
    s = SQLiteStore(str(tmp_path / "c.sqlite3"), lambda: now[0])
    now = [1_000_000.0]
    try:
        await s.put("long", b"L", ttl=100, once=False, flow=F)
        await s.put("short", b"S", ttl=10, once=False, flow=F)
        await s.expire_flow(F)
        now[0] += 50
        s._next_sweep = 0
        await s.put("other", b"O", ttl=10, once=False, flow=G)  # sweeps
        with sqlite3.connect(s.path) as conn:
            flows = dict(conn.execute("SELECT flow, expires FROM flows"))
            keys = {k for (k,) in conn.execute("SELECT key FROM continuations")}
        conn.close()
        # "short" expired, "long" is of an expired generation: both swept, and the flow's
        # row is kept until "long" would have expired.
        assert flows == {F: 1_000_100.0, G: 1_000_060.0}
        assert keys == {"other"}
        now[0] += 51
        s._next_sweep = 0
        await s.put("later", b"x", ttl=10, once=False, flow=G)
        with sqlite3.connect(s.path) as conn:
            assert [f for (f,) in conn.execute("SELECT flow FROM flows")] == [G]
        conn.close()
    finally:
        await s.close()


async def test_sqlite_expire_flow_unavailable_names_the_file_and_recovers(tmp_path) -> None:
    folder = tmp_path / "not-yet"
    s = SQLiteStore(str(folder / "c.sqlite3"))
    try:
        for op in (
            lambda: s.expire_flow(F),
            lambda: s.put("k", b"x", ttl=60, once=False, flow=F),
            lambda: s.get("k", once=True, flow=F),
        ):
            with pytest.raises(StoreUnavailable, match=r"SQLite store at .*not-yet"):
                await op()
        folder.mkdir()
        await s.put("k", b"x", ttl=60, once=True, flow=F)
        assert await s.get("k", once=True, flow=F) == b"x"
    finally:
        await s.close()


WORKER = """
import asyncio, json, os, random, sys, time
from tmweb.web.stores import SQLiteStore

path, go, mode, flow, keys, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], \\
    sys.argv[5].split(","), int(sys.argv[6])

async def take(s, key, stagger):
    await asyncio.sleep(random.uniform(0, stagger))
    start = time.monotonic()
    return [start, (await s.get(key, once=True, flow=flow)) is not None]

async def main():
    stores = [SQLiteStore(path) for _ in range(n)]
    try:
        await asyncio.gather(*(s.ping() for s in stores))
        print("ready", flush=True)
        while not os.path.exists(go):
            await asyncio.sleep(0.001)
        if mode == "expire":
            await asyncio.sleep(0.01)
            await stores[0].expire_flow(flow)
            out = time.monotonic()
        else:
            stagger = 0.02 if mode == "staggered-take" else 0
            out = await asyncio.gather(*(take(stores[i % n], k, stagger)
                                         for k in keys for i in range(n)))
        print(json.dumps(out), flush=True)
    finally:
        await asyncio.gather(*(s.close() for s in stores))

asyncio.run(main())
"""


def run_workers(tmp_path: Path, path: str, jobs: list[tuple[str, list[str], int]]) -> list:
    """Start one OS process per (mode, keys, number of store objects), let them all go at
    once when each is ready, and return what each printed (JSON)."""
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    go = tmp_path / "go"
    root = os.path.dirname(os.path.dirname(os.path.abspath(tmweb.__file__)))
    env = {**os.environ, "PYTHONPATH": root}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), path, str(go), mode, F, ",".join(keys), str(n)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for mode, keys, n in jobs
    ]
    try:
        for p in procs:
            assert p.stdout is not None
            assert p.stdout.readline().strip() == "ready"
        go.touch()
        outs = [p.communicate(timeout=60)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0] * len(procs)
    return [json.loads(out) for out in outs]


async def test_sqlite_50_takes_from_2_processes_give_a_flow_record_once(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    s = SQLiteStore(path)
    keys = [f"k{i}" for i in range(10)]
    try:
        for key in keys:
            await s.put(key, b"x", ttl=60, once=True, flow=F)
        # Each process: 25 store objects (25 connections) taking every key at once.
        results = run_workers(tmp_path, path, [("take", keys, 25), ("take", keys, 25)])
    finally:
        await s.close()
    for i, key in enumerate(keys):
        wins = sum(got for out in results for _, got in out[i * 25 : (i + 1) * 25])
        assert wins == 1, key


async def test_sqlite_expire_flow_in_one_process_holds_in_another(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    s = SQLiteStore(path)
    keys = [f"k{i}" for i in range(40)]
    try:
        for key in keys:
            await s.put(key, b"x", ttl=60, once=True, flow=F)
        takes, expired = run_workers(
            tmp_path, path, [("staggered-take", keys, 4), ("expire", [], 1)]
        )
        for start, got in takes:
            assert not got or start < expired
        for key in keys:
            assert await readable(s, key, F) is None
    finally:
        await s.close()


async def test_sqlite_migrates_a_file_of_the_flow_schema(tmp_path) -> None:
    # the schema of the flows release: (key, data, expires, flow, gen), a flows table, no
    # owner or size; its rows stay readable and count against nobody's budget
    path = tmp_path / "continuations.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE continuations (key TEXT PRIMARY KEY, data BLOB NOT NULL, "
                     "expires REAL NOT NULL, flow TEXT, gen INTEGER)")  # fmt: skip
        conn.execute("CREATE TABLE flows (flow TEXT PRIMARY KEY, gen INTEGER NOT NULL, expires REAL NOT NULL)")
        conn.execute("INSERT INTO flows VALUES (?, 0, ?)", (F, time.time() + 60))
        conn.execute("INSERT INTO continuations VALUES (?, ?, ?, ?, 0)", ("in-flow", b"f", time.time() + 60, F))
    conn.close()
    s = SQLiteStore(str(path))
    try:
        limits = OwnerLimits(max_records=1, max_bytes=1 << 20)
        await s.put("a", b"1", 60, False, flow=F, owner="o", limits=limits)
        await s.put("b", b"2", 60, False, flow=F, owner="o", limits=limits)
        assert await s.get("in-flow", once=False, flow=F) == b"f"
        assert await s.get("a", once=False, flow=F) is None
        assert await s.get("b", once=False, flow=F) == b"2"
    finally:
        await s.close()
