"""The SQLite store waits for another process's write lock by retrying briefly, not on
SQLite's own busy timer (docs/decisions.md, issue 12), and still gives up after
`busy_timeout`. The other process is a second connection to the same file holding a
`BEGIN IMMEDIATE` transaction, as another worker's write does."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tmweb.web.errors import StoreUnavailable
from tmweb.web.stores import SQLiteStore

pytestmark = pytest.mark.anyio


async def test_a_write_waits_for_another_connections_lock_then_lands(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    s = SQLiteStore(path)
    try:
        await s.ping()  # the file and its tables exist
        other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        other.execute("BEGIN IMMEDIATE")
        put = asyncio.create_task(s.put("k", b"x", ttl=60, once=False, flow="f1"))
        await asyncio.sleep(0.05)
        assert not put.done()  # still waiting for the lock, not failed
        other.execute("COMMIT")
        other.close()
        await put
        assert await s.get("k", once=True, flow="f1") == b"x"
    finally:
        await s.close()


async def test_a_lock_held_past_busy_timeout_is_store_unavailable(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    s = SQLiteStore(path)
    s.busy_timeout = 0.2
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await s.ping()
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match=r"SQLite store at .*c\.sqlite3 is unavailable: database is locked"):
            await s.put("k", b"x", ttl=60, once=False)
        other.execute("ROLLBACK")
        await s.put("k", b"x", ttl=60, once=False)  # the store recovers by itself
        assert await s.get("k", once=False) == b"x"
    finally:
        other.close()
        await s.close()
