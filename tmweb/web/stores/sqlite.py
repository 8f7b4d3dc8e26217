"""The embedded continuation store: one SQLite file, shared by the workers of one machine.

One table, `continuations (key, data, expires)`, in WAL mode with a 5 s busy timeout, so
several processes can read and write the same file. Each store object has one connection,
used from worker threads (`asyncio.to_thread`) under a lock. A take is a single
`DELETE ... RETURNING` statement, so two processes can never both take the same row.
Expired rows are never returned and are swept at most once a minute, during a put. Expiry
is by `clock` (wall-clock seconds, `time.time` by default; tests pass a fake one).
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from ..errors import StoreUnavailable

T = TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS continuations (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    expires REAL NOT NULL
)
"""


class SQLiteStore:
    """Continuations in a SQLite file at `path` (created with its table on first use)."""

    #: Seconds between two sweeps of expired rows.
    sweep_interval: float = 60.0
    #: Seconds a statement waits for another process's write lock before giving up.
    busy_timeout: float = 5.0

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        self.path = os.path.abspath(path)
        #: Seconds since the epoch; wall-clock time, as several processes compare expiries.
        self.clock = clock
        self.url = "sqlite:///" + self.path
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._next_sweep = 0.0

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- the Store interface -------------------------------------------------------------

    async def put(self, key: str, data: bytes, ttl: int, once: bool) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
        await self._run(self._put, key, bytes(data), ttl)

    async def get(self, key: str, once: bool) -> bytes | None:
        return await self._run(self._take if once else self._get, key)

    async def delete(self, key: str) -> None:
        await self._run(self._delete, key)

    async def ping(self) -> None:
        await self._run(self._ping)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    # -- in a worker thread, under the lock --------------------------------------------

    def _put(self, conn: sqlite3.Connection, key: str, data: bytes, ttl: int) -> None:
        now = self.clock()
        conn.execute(
            "INSERT OR REPLACE INTO continuations (key, data, expires) VALUES (?, ?, ?)",
            (key, data, now + ttl),
        )
        if now >= self._next_sweep:
            conn.execute("DELETE FROM continuations WHERE expires <= ?", (now,))
            self._next_sweep = now + self.sweep_interval

    def _get(self, conn: sqlite3.Connection, key: str) -> bytes | None:
        row = conn.execute(
            "SELECT data FROM continuations WHERE key = ? AND expires > ?", (key, self.clock())
        ).fetchone()
        return None if row is None else bytes(row[0])

    def _take(self, conn: sqlite3.Connection, key: str) -> bytes | None:
        # One statement, so one write transaction: the row is read and deleted atomically
        # even with other processes on the same file. fetchall() runs it to completion,
        # which commits (autocommit mode) and releases the write lock.
        rows = conn.execute(
            "DELETE FROM continuations WHERE key = ? AND expires > ? RETURNING data",
            (key, self.clock()),
        ).fetchall()
        return bytes(rows[0][0]) if rows else None

    def _delete(self, conn: sqlite3.Connection, key: str) -> None:
        conn.execute("DELETE FROM continuations WHERE key = ?", (key,))

    def _ping(self, conn: sqlite3.Connection) -> None:
        conn.execute("SELECT 1 FROM continuations LIMIT 1").fetchall()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self.busy_timeout,
            isolation_level=None,  # autocommit: each statement is its own transaction
            check_same_thread=False,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    def _call(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                return fn(self._conn, *args)
            except (sqlite3.ProgrammingError, sqlite3.IntegrityError, sqlite3.InterfaceError):
                raise  # a bug, not an unavailable store
            except (sqlite3.DatabaseError, OSError) as e:
                # Start afresh next time: the file may have been fixed, moved back, freed...
                self._drop()
                raise StoreUnavailable(f"SQLite store at {self.path} is unavailable: {e}") from e

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        return await asyncio.to_thread(self._call, fn, *args)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    def _close(self) -> None:
        with self._lock:
            self._drop()
