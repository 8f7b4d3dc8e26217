"""The embedded continuation store: one SQLite file, shared by the workers of one machine.

Two tables, in WAL mode, so several processes can read and write the same file (a
statement that finds the write lock taken is retried for up to 5 s, see `_retry_busy`):

- `continuations (key, data, expires, flow, gen, owner, size)`: a record; for one put in a
  flow, the flow's generation when it was put; for one put for an owner (a browser
  session), the owner and the record's size, which the owner's budget counts;
- `flows (flow, gen, expires)`: each flow's current generation, kept until its latest
  record expires. Expiring a flow is one `UPDATE ... SET gen = gen + 1`; a record is valid
  only while its `gen` is its flow's.

Each store object has one connection, used from worker threads (`asyncio.to_thread`) under
a lock. Every operation is one statement or one `BEGIN IMMEDIATE` transaction: a take is a
single `DELETE ... RETURNING` that also checks the generation, so two processes never both
take a row and none takes a row of an expired generation. Expired rows (and rows of an
expired generation) are never returned and are swept at most once a minute, during a put.
Expiry is by `clock` (wall-clock seconds, `time.time` by default; tests pass a fake one).

Budgets, checked in the put's transaction: an owner's records beyond `limits` (count or
bytes) are deleted, those closest to expiring first; with `max_bytes`, the whole file's used
pages beyond it evict the rows closest to expiring, whoever owns them. Either way the record
just put stays.

A file made by an older tmweb (one table without `flow`, `gen`, `owner`, `size`) is
migrated when a store first connects to it; its rows belong to no flow and no owner and
stay readable.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

from ...sqlitefile import SQLiteFile, create_private, writing
from ..errors import StoreUnavailable
from .checks import OwnerLimits, check_flow, check_owner, check_ttl

T = TypeVar("T")

_CONTINUATIONS = """
CREATE TABLE IF NOT EXISTS continuations (
    key TEXT PRIMARY KEY,
    data BLOB NOT NULL,
    expires REAL NOT NULL,
    flow TEXT,
    gen INTEGER,
    owner TEXT,
    size INTEGER
)
"""
#: Columns added since the first schema, `(key, data, expires)`; NULL for its rows.
_ADDED_COLUMNS = (("flow", "TEXT"), ("gen", "INTEGER"), ("owner", "TEXT"), ("size", "INTEGER"))
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS continuations_owner ON continuations (owner, expires, size)"
    " WHERE owner IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS continuations_expires ON continuations (expires)",
)

_FLOWS = """
CREATE TABLE IF NOT EXISTS flows (
    flow TEXT PRIMARY KEY,
    gen INTEGER NOT NULL,
    expires REAL NOT NULL
)
"""

# A put in a flow: the flow's current generation (a new flow starts at 0), kept at least
# as long as the record is.
_JOIN_FLOW = """
INSERT INTO flows (flow, gen, expires) VALUES (?, 0, ?)
ON CONFLICT (flow) DO UPDATE SET expires = max(expires, excluded.expires)
RETURNING gen
"""
_GET_IN_FLOW = """
SELECT c.data FROM continuations AS c
JOIN flows AS f ON f.flow = c.flow AND f.gen = c.gen
WHERE c.key = ? AND c.flow = ? AND c.expires > ?
"""
_TAKE_IN_FLOW = """
DELETE FROM continuations
WHERE key = ? AND flow = ? AND expires > ?
  AND gen = (SELECT f.gen FROM flows AS f WHERE f.flow = continuations.flow)
RETURNING data
"""
# An owner's records beyond its budget: all but the newest-expiring ones that fit both
# limits. The record just put (`key`) always fits: its size is under the byte budget.
_OVER_BUDGET = """
DELETE FROM continuations WHERE key IN (
  SELECT key FROM (
    SELECT key,
           row_number() OVER newest AS n,
           sum(size) OVER newest AS running
    FROM continuations WHERE owner = ?
    WINDOW newest AS (ORDER BY key = ? DESC, expires DESC, rowid DESC)
  ) WHERE key != ? AND (n > ? OR running > ?)
)
"""
_OWNER_USAGE = "SELECT count(*), total(size) FROM continuations WHERE owner = ?"
# Records of a flow's earlier generation (or of a swept flow, all expired): never valid again.
_SWEEP_STALE = """
DELETE FROM continuations WHERE flow IS NOT NULL
  AND gen IS NOT (SELECT f.gen FROM flows AS f WHERE f.flow = continuations.flow)
"""


class SQLiteStore(SQLiteFile):
    """Continuations in a SQLite file at `path` (created with its tables on first use)."""

    #: Seconds between two sweeps of expired rows.
    sweep_interval: float = 60.0
    #: Seconds a statement waits for another process's write lock before giving up.
    busy_timeout: float = 5.0
    #: Longest pause between two tries of a locked statement (the first is 0.1 ms).
    busy_max_pause: float = 0.001

    def __init__(
        self, path: str, clock: Callable[[], float] = time.time, max_bytes: int | None = None
    ) -> None:
        if max_bytes is not None and max_bytes < 1 << 20:
            raise ValueError(f"a SQLite store budget under 1 MiB ({max_bytes} bytes) leaves no room")
        super().__init__(path)
        #: The most bytes of used pages the file may hold (None: no limit); a put beyond it
        #: evicts the rows closest to expiring.
        self.max_bytes = max_bytes
        #: Seconds since the epoch; wall-clock time, as several processes compare expiries.
        self.clock = clock
        self.url = "sqlite:///" + self.path
        self._next_sweep = 0.0

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"

    # -- the Store interface -------------------------------------------------------------

    async def put(
        self,
        key: str,
        data: bytes,
        ttl: int,
        once: bool,
        flow: str | None = None,
        owner: str | None = None,
        limits: OwnerLimits | None = None,
    ) -> int:
        check_ttl(ttl)
        check_flow(flow)
        check_owner(owner)
        return await self._run(self._put, key, bytes(data), ttl, flow, owner, limits)

    async def get(self, key: str, once: bool, flow: str | None = None) -> bytes | None:
        check_flow(flow)
        return await self._run(self._take if once else self._get, key, flow)

    async def expire_flow(self, flow: str) -> None:
        check_flow(flow)
        if flow is None:
            raise ValueError("expire_flow needs a flow id, not None")
        await self._run(self._expire_flow, flow)

    async def delete(self, key: str, flow: str | None = None) -> None:
        check_flow(flow)
        await self._run(self._delete, key, flow)

    async def ping(self) -> None:
        await self._run(self._ping)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    # -- in a worker thread, under the lock --------------------------------------------

    def _put(
        self,
        conn: sqlite3.Connection,
        key: str,
        data: bytes,
        ttl: int,
        flow: str | None,
        owner: str | None,
        limits: OwnerLimits | None,
    ) -> int:
        now = self.clock()
        expires = now + ttl
        evicted = 0
        # One transaction: the record gets the generation that is current when it lands,
        # and its owner's budget and the file's hold when it commits.
        with writing(conn):
            gen = None
            if flow is not None:
                [(gen,)] = conn.execute(_JOIN_FLOW, (flow, expires)).fetchall()
            conn.execute(
                "INSERT OR REPLACE INTO continuations (key, data, expires, flow, gen, owner, size) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, data, expires, flow, gen, owner, len(data)),
            )
            if now >= self._next_sweep:
                conn.execute("DELETE FROM continuations WHERE expires <= ?", (now,))
                conn.execute("DELETE FROM flows WHERE expires <= ?", (now,))
                conn.execute(_SWEEP_STALE)
                self._next_sweep = now + self.sweep_interval
            if owner is not None and limits is not None:
                evicted += self._keep_owner_budget(conn, key, owner, limits, now)
            if self.max_bytes is not None:
                evicted += self._keep_file_budget(conn, key, self.max_bytes, now)
        return evicted

    def _keep_owner_budget(
        self, conn: sqlite3.Connection, key: str, owner: str, limits: OwnerLimits, now: float
    ) -> int:
        """Delete the owner's expired records, then, if it is over its budget, those beyond
        15/16 of it (see `OwnerLimits`)."""
        conn.execute("DELETE FROM continuations WHERE owner = ? AND expires <= ?", (owner, now))
        [(count, size)] = conn.execute(_OWNER_USAGE, (owner,)).fetchall()
        if count <= limits.max_records and size <= limits.max_bytes:
            return 0  # the common case: two indexed reads, nothing deleted
        cur = conn.execute(_OVER_BUDGET, (owner, key, key, limits.low_records, limits.low_bytes))
        return cur.rowcount

    def _keep_file_budget(self, conn: sqlite3.Connection, key: str, budget: int, now: float) -> int:
        """While the file's used pages pass `budget`, delete expired rows, then the rows
        closest to expiring, a batch at a time (freed pages are reused, not returned)."""
        evicted = 0
        if _used_bytes(conn) <= budget:
            return 0
        conn.execute("DELETE FROM continuations WHERE expires <= ?", (now,))
        while _used_bytes(conn) > budget:
            cur = conn.execute(
                "DELETE FROM continuations WHERE key IN (SELECT key FROM continuations "
                "WHERE key != ? ORDER BY expires, rowid LIMIT 32)",
                (key,),
            )
            if cur.rowcount <= 0:
                break  # only the new record is left
            evicted += cur.rowcount
        return evicted

    def _get(self, conn: sqlite3.Connection, key: str, flow: str | None) -> bytes | None:
        # One statement, one read snapshot: the record and its flow's generation together.
        if flow is None:
            sql = "SELECT data FROM continuations WHERE key = ? AND flow IS NULL AND expires > ?"
            row = conn.execute(sql, (key, self.clock())).fetchone()
        else:
            row = conn.execute(_GET_IN_FLOW, (key, flow, self.clock())).fetchone()
        return None if row is None else bytes(row[0])

    def _take(self, conn: sqlite3.Connection, key: str, flow: str | None) -> bytes | None:
        # One statement, so one write transaction: the row is read, checked against its
        # flow's generation and deleted atomically even with other processes on the same
        # file. fetchall() runs it to completion, which commits (autocommit mode) and
        # releases the write lock.
        if flow is None:
            sql = "DELETE FROM continuations WHERE key = ? AND flow IS NULL AND expires > ? "
            rows = conn.execute(sql + "RETURNING data", (key, self.clock())).fetchall()
        else:
            rows = conn.execute(_TAKE_IN_FLOW, (key, flow, self.clock())).fetchall()
        return bytes(rows[0][0]) if rows else None

    def _expire_flow(self, conn: sqlite3.Connection, flow: str) -> None:
        # A flow without a row has no record that a get could return: nothing to expire.
        conn.execute("UPDATE flows SET gen = gen + 1 WHERE flow = ?", (flow,))

    def _delete(self, conn: sqlite3.Connection, key: str, flow: str | None) -> None:
        conn.execute("DELETE FROM continuations WHERE key = ? AND flow IS ?", (key, flow))

    def _ping(self, conn: sqlite3.Connection) -> None:
        conn.execute("SELECT 1 FROM continuations LIMIT 1").fetchall()

    def _connect(self) -> sqlite3.Connection:
        create_private(self.path)
        # No SQLite busy timeout: `_call` retries a locked statement itself (`_retry_busy`).
        conn = sqlite3.connect(
            self.path,
            timeout=0,
            isolation_level=None,  # autocommit: each statement is its own transaction
            check_same_thread=False,
        )
        try:
            conn.execute("PRAGMA busy_timeout = 0")
            _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"), self.busy_timeout, self.busy_max_pause)
            conn.execute("PRAGMA synchronous = NORMAL")
            _retry_busy(lambda: _migrate(conn), self.busy_timeout, self.busy_max_pause)
        except BaseException:
            conn.close()
            raise
        return conn

    def _attempt(self, conn: sqlite3.Connection, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        return _retry_busy(lambda: fn(conn, *args), self.busy_timeout, self.busy_max_pause)

    def _unavailable(self, e: Exception) -> Exception:
        return StoreUnavailable(f"SQLite store at {self.path} is unavailable: {e}")


def _retry_busy(op: Callable[[], T], timeout: float, max_pause: float) -> T:
    """Run `op`, again after a short pause while it fails because another process holds
    the write lock, for up to `timeout` seconds.

    SQLite's own busy handler (`busy_timeout`) sleeps 1, 2, 5, 10, 15, 20, 25... ms
    between tries, so with two workers on one file a write that loses the race twice
    waits 8 ms or more for a lock held well under 1 ms, and 100+ ms in the tail. These
    pauses start at 0.1 ms and never exceed `max_pause`. Every operation is one statement
    or one `BEGIN IMMEDIATE` transaction, which fails before it has done anything when the
    lock is taken (and is rolled back if it fails later), so running it again is safe."""
    deadline = time.monotonic() + timeout
    pause = 0.0001
    while True:
        try:
            return op()
        except sqlite3.OperationalError as e:
            busy = getattr(e, "sqlite_errorcode", 0) & 0xFF in _BUSY  # extended codes too
            if not busy or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, max_pause)


#: The primary result codes of a lock held by another connection.
_BUSY = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _used_bytes(conn: sqlite3.Connection) -> int:
    """The bytes of the file's pages in use (its size less its free pages)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size: int = conn.execute("PRAGMA page_size").fetchone()[0]
    return (pages - free) * size


def _schema_is_current(conn: sqlite3.Connection) -> bool:
    columns = {row[1] for row in conn.execute("PRAGMA table_info(continuations)")}
    flows = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'flows'")
    index = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'continuations_expires'"
    )
    return (
        {name for name, _ in _ADDED_COLUMNS} <= columns
        and flows.fetchone() is not None
        and index.fetchone() is not None
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Create the tables, or bring a file of an older schema up to date. Under the write
    lock, so two processes opening an old file at once migrate it once."""
    if _schema_is_current(conn):
        return
    with writing(conn):
        conn.execute(_CONTINUATIONS)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(continuations)")}
        for name, kind in _ADDED_COLUMNS:
            if name not in columns:
                conn.execute(f"ALTER TABLE continuations ADD COLUMN {name} {kind}")
        conn.execute(_FLOWS)
        for sql in _INDEXES:
            conn.execute(sql)
