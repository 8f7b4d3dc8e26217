"""Workflows in SQLite: the embedded default, for the workers of one machine.

The tables live in the app's SQLite file next to the continuations (`wf_` prefix). Work is
handed out by leases: a claim is one `BEGIN IMMEDIATE` transaction that picks a runnable
row (ready, a sleeper whose time has come, or a running one whose lease ran out) and
writes this worker's lease and a fresh run id on it. Every later write of the run checks
that run id, so a worker that lost its lease (paused, partitioned) cannot overwrite the run
that took over.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections.abc import Callable

from ..sqlitefile import SQLiteFile, create_private, writing
from .errors import LeaseLost, UnknownWorkflow, WorkflowError, WorkflowFinished, WorkflowUnavailable
from .records import FINISHED, MAX_TRIES, Save, WorkflowRow, poisoned

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS wf_workflows (
        id TEXT PRIMARY KEY, queue TEXT NOT NULL, fn TEXT NOT NULL, status TEXT NOT NULL,
        kind TEXT NOT NULL, state BLOB, inbox BLOB, wake_at REAL NOT NULL DEFAULT 0,
        waiting_for TEXT, lease_owner TEXT, lease_until REAL, run_id TEXT,
        checkpoint TEXT, checkpoint_bytes INTEGER NOT NULL DEFAULT 0,
        checkpoints INTEGER NOT NULL DEFAULT 0, result BLOB, error TEXT,
        claims INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL, updated REAL NOT NULL,
        tries INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX IF NOT EXISTS wf_runnable ON wf_workflows (queue, status, wake_at)",
    """CREATE TABLE IF NOT EXISTS wf_steps (
        wf TEXT NOT NULL, name TEXT NOT NULL, value BLOB, at REAL NOT NULL,
        PRIMARY KEY (wf, name))""",
    """CREATE TABLE IF NOT EXISTS wf_signals (
        seq INTEGER PRIMARY KEY AUTOINCREMENT, wf TEXT NOT NULL, name TEXT NOT NULL,
        value BLOB, at REAL NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS wf_signals_by_wf ON wf_signals (wf, name, seq)",
    """CREATE TABLE IF NOT EXISTS wf_chunks (
        wf TEXT NOT NULL, digest BLOB NOT NULL, data BLOB NOT NULL, PRIMARY KEY (wf, digest))""",
]

_COLUMNS = (
    "id, queue, fn, status, kind, state, inbox, wake_at, waiting_for, lease_owner, lease_until, "
    "run_id, checkpoint, checkpoint_bytes, checkpoints, result, error, claims, created, updated"
)

_CLAIMABLE = """
SELECT id FROM wf_workflows
 WHERE queue = ? AND ((status IN ('ready', 'sleeping') AND wake_at <= ?)
                      OR (status = 'running' AND lease_until < ?))
 ORDER BY wake_at LIMIT 1
"""


class SQLiteWorkflows(SQLiteFile):
    """The workflow tables in the SQLite file at `path` (created on first use)."""

    #: Seconds a statement waits for another process's write lock.
    busy_timeout: float = 10.0

    def __init__(self, path: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(path)
        self.url = "sqlite:///" + self.path
        self.clock = clock

    def __repr__(self) -> str:
        return f"SQLiteWorkflows({self.path!r})"

    # -- the Backend interface ---------------------------------------------------------

    async def create(self, row: WorkflowRow) -> None:
        await self._run(self._create, row)

    async def get(self, wf_id: str) -> WorkflowRow:
        return await self._run(self._get, wf_id)

    async def list(self, status: str | None = None, limit: int = 100) -> list[WorkflowRow]:
        return await self._run(self._list, status, limit)

    async def claim(self, queue: str, worker: str, lease: float) -> WorkflowRow | None:
        return await self._run(self._claim, queue, worker, lease)

    async def ack(self, row: WorkflowRow, outcome: str) -> None:
        """Nothing to do: a lease ends with the run's last write."""

    async def renew(self, worker: str, run_ids: list[str], lease: float) -> None:
        if run_ids:
            await self._run(self._renew, worker, run_ids, lease)

    async def save(self, wf_id: str, run_id: str, save: Save) -> bytes | None:
        return await self._run(self._save, wf_id, run_id, save)

    async def finish(self, wf_id: str, run_id: str, result: bytes | None, error: str | None) -> None:
        await self._run(self._finish, wf_id, run_id, result, error)

    async def fail(self, wf_id: str, error: str) -> None:
        """Mark a workflow failed whatever its lease (a record no worker can load)."""
        await self._run(self._fail, wf_id, error)

    async def step_result(self, wf_id: str, name: str) -> bytes | None:
        return await self._run(self._step_result, wf_id, name)

    async def chunks(self, wf_id: str, digests: list[bytes]) -> dict[bytes, bytes]:
        return await self._run(self._chunks, wf_id, digests)

    async def signal(self, wf_id: str, name: str, value: bytes) -> None:
        await self._run(self._signal, wf_id, name, value)

    async def retry(self, wf_id: str) -> None:
        await self._run(self._retry, wf_id)

    async def next_wake(self, queue: str) -> float | None:
        return await self._run(self._next_wake, queue)

    async def close(self) -> None:
        await asyncio.to_thread(self._close)

    # -- in a worker thread, under the lock --------------------------------------------

    def _create(self, conn: sqlite3.Connection, row: WorkflowRow) -> None:
        now = self.clock()
        with writing(conn):
            conn.execute(
                "INSERT INTO wf_workflows (id, queue, fn, status, kind, state, wake_at, created, updated, checkpoint_bytes)"
                " VALUES (?, ?, ?, 'ready', 'start', ?, ?, ?, ?, ?)",
                (row.id, row.queue, row.fn, row.state, now, now, now, len(row.state or b"")),
            )

    def _get(self, conn: sqlite3.Connection, wf_id: str) -> WorkflowRow:
        r = conn.execute(f"SELECT {_COLUMNS} FROM wf_workflows WHERE id = ?", (wf_id,)).fetchone()
        if r is None:
            raise UnknownWorkflow(wf_id)
        row = WorkflowRow(*r)
        row.steps = [s for (s,) in conn.execute("SELECT name FROM wf_steps WHERE wf = ? ORDER BY at, rowid", (wf_id,))]
        return row

    def _list(self, conn: sqlite3.Connection, status: str | None, limit: int) -> list[WorkflowRow]:
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM wf_workflows {where} ORDER BY created DESC, id LIMIT ?", (*args, limit)
        ).fetchall()
        return [WorkflowRow(*r) for r in rows]

    def _claim(self, conn: sqlite3.Connection, queue: str, worker: str, lease: float) -> WorkflowRow | None:
        now = self.clock()
        if conn.execute(_CLAIMABLE, (queue, now, now)).fetchone() is None:
            return None  # a read, no write lock: an idle worker never blocks the app's writes
        with writing(conn):
            while True:
                r = conn.execute(_CLAIMABLE, (queue, now, now)).fetchone()
                if r is None:
                    return None
                (tries,) = conn.execute("SELECT tries FROM wf_workflows WHERE id = ?", (r[0],)).fetchone()
                if tries < MAX_TRIES:
                    break
                conn.execute(
                    "UPDATE wf_workflows SET status = 'failed', error = ?, lease_owner = NULL, run_id = NULL,"
                    " updated = ? WHERE id = ?",
                    (poisoned(tries), now, r[0]),
                )
            run_id = uuid.uuid4().hex
            conn.execute(
                "UPDATE wf_workflows SET status = 'running', lease_owner = ?, lease_until = ?,"
                " run_id = ?, claims = claims + 1, tries = tries + 1, waiting_for = NULL, updated = ? WHERE id = ?",
                (worker, now + lease, run_id, now, r[0]),
            )
            return self._get(conn, r[0])

    def _renew(self, conn: sqlite3.Connection, worker: str, run_ids: list[str], lease: float) -> None:
        until = self.clock() + lease
        with writing(conn):
            conn.executemany(
                "UPDATE wf_workflows SET lease_until = ? WHERE run_id = ? AND lease_owner = ? AND status = 'running'",
                [(until, r, worker) for r in run_ids],
            )

    def _owned(self, conn: sqlite3.Connection, wf_id: str, run_id: str) -> None:
        r = conn.execute("SELECT run_id, status FROM wf_workflows WHERE id = ?", (wf_id,)).fetchone()
        if r is None or r[0] != run_id or r[1] != "running":
            raise LeaseLost(wf_id)

    def _save(self, conn: sqlite3.Connection, wf_id: str, run_id: str, s: Save) -> bytes | None:
        now = self.clock()
        with writing(conn):
            self._owned(conn, wf_id, run_id)
            if s.step is not None:
                conn.execute(
                    "INSERT OR REPLACE INTO wf_steps (wf, name, value, at) VALUES (?, ?, ?, ?)",
                    (wf_id, s.step[0], s.step[1], now),
                )
            self._store_chunks(conn, wf_id, s)
            kind, inbox, status, taken = "resume", None, s.status, None
            if s.status == "waiting":
                sig = conn.execute(
                    "SELECT seq, value FROM wf_signals WHERE wf = ? AND name = ? ORDER BY seq LIMIT 1",
                    (wf_id, s.waiting_for),
                ).fetchone()
                if sig is not None:  # sent before the wait: taken now, with the checkpoint
                    conn.execute("DELETE FROM wf_signals WHERE seq = ?", (sig[0],))
                    kind, inbox, status, taken = "signal", sig[1], "running", sig[1]
            release = status != "running"
            conn.execute(
                "UPDATE wf_workflows SET status = ?, kind = ?, state = ?, inbox = ?, wake_at = ?,"
                " waiting_for = ?, checkpoint = ?, checkpoint_bytes = ?, checkpoints = checkpoints + 1, tries = 0,"
                " queue = coalesce(?, queue), updated = ?,"
                " lease_owner = CASE WHEN ? THEN NULL ELSE lease_owner END,"
                " run_id = CASE WHEN ? THEN NULL ELSE run_id END WHERE id = ?",
                (status, kind, s.state, inbox, s.wake_at if s.status == "sleeping" else now,
                 s.waiting_for if status == "waiting" else None, s.checkpoint, s.size or len(s.state),
                 s.queue, now, release, release, wf_id),
            )  # fmt: skip
            return taken

    def _store_chunks(self, conn: sqlite3.Connection, wf_id: str, s: Save) -> None:
        """The new chunks of an incremental checkpoint in, the ones it no longer names out."""
        if s.chunks is None:
            conn.execute("DELETE FROM wf_chunks WHERE wf = ?", (wf_id,))
            return
        conn.executemany(
            "INSERT OR IGNORE INTO wf_chunks (wf, digest, data) VALUES (?, ?, ?)",
            [(wf_id, d, c) for d, c in s.chunks],
        )
        wanted = set(s.keep or ())
        stored = [d for (d,) in conn.execute("SELECT digest FROM wf_chunks WHERE wf = ?", (wf_id,))]
        gone = [(wf_id, d) for d in stored if d not in wanted]
        if gone:
            conn.executemany("DELETE FROM wf_chunks WHERE wf = ? AND digest = ?", gone)

    def _chunks(self, conn: sqlite3.Connection, wf_id: str, digests: list[bytes]) -> dict[bytes, bytes]:
        rows = conn.execute("SELECT digest, data FROM wf_chunks WHERE wf = ?", (wf_id,)).fetchall()
        wanted = set(digests)
        return {d: c for d, c in rows if d in wanted}

    def _finish(self, conn: sqlite3.Connection, wf_id: str, run_id: str, result: bytes | None, error: str | None) -> None:
        now = self.clock()
        with writing(conn):
            self._owned(conn, wf_id, run_id)
            status = "failed" if error is not None else "done"
            # a failed workflow keeps its state: after the code is fixed, `retry` resumes it
            conn.execute(
                "UPDATE wf_workflows SET status = ?, result = ?, error = ?, lease_owner = NULL,"
                " run_id = NULL, updated = ?, state = CASE WHEN ? THEN state ELSE NULL END,"
                " inbox = CASE WHEN ? THEN inbox ELSE NULL END WHERE id = ?",
                (status, result, error, now, error is not None, error is not None, wf_id),
            )
            if error is None:
                conn.execute("DELETE FROM wf_signals WHERE wf = ?", (wf_id,))
                conn.execute("DELETE FROM wf_chunks WHERE wf = ?", (wf_id,))

    def _fail(self, conn: sqlite3.Connection, wf_id: str, error: str) -> None:
        with writing(conn):
            conn.execute(
                "UPDATE wf_workflows SET status = 'failed', error = ?, lease_owner = NULL, run_id = NULL,"
                " updated = ? WHERE id = ?",
                (error, self.clock(), wf_id),
            )

    def _step_result(self, conn: sqlite3.Connection, wf_id: str, name: str) -> bytes | None:
        r = conn.execute("SELECT value FROM wf_steps WHERE wf = ? AND name = ?", (wf_id, name)).fetchone()
        return None if r is None else r[0]

    def _signal(self, conn: sqlite3.Connection, wf_id: str, name: str, value: bytes) -> None:
        now = self.clock()
        with writing(conn):
            r = conn.execute("SELECT status, waiting_for FROM wf_workflows WHERE id = ?", (wf_id,)).fetchone()
            if r is None:
                raise UnknownWorkflow(wf_id)
            status, waiting_for = r
            if status in FINISHED:
                raise WorkflowFinished(wf_id, status)
            if status == "waiting" and waiting_for == name:
                conn.execute(
                    "UPDATE wf_workflows SET status = 'ready', kind = 'signal', inbox = ?, wake_at = ?,"
                    " waiting_for = NULL, updated = ? WHERE id = ?",
                    (value, now, now, wf_id),
                )
            else:
                conn.execute(
                    "INSERT INTO wf_signals (wf, name, value, at) VALUES (?, ?, ?, ?)", (wf_id, name, value, now)
                )

    def _retry(self, conn: sqlite3.Connection, wf_id: str) -> None:
        with writing(conn):
            r = conn.execute("SELECT status, state FROM wf_workflows WHERE id = ?", (wf_id,)).fetchone()
            if r is None:
                raise UnknownWorkflow(wf_id)
            if r[0] != "failed" or r[1] is None:
                raise WorkflowError(f"workflow {wf_id} is {r[0]}; only a failed workflow that has a checkpoint can be retried")
            conn.execute(
                "UPDATE wf_workflows SET status = 'ready', error = NULL, tries = 0, wake_at = ?, updated = ? WHERE id = ?",
                (self.clock(), self.clock(), wf_id),
            )

    def _next_wake(self, conn: sqlite3.Connection, queue: str) -> float | None:
        r = conn.execute(
            "SELECT min(CASE WHEN status = 'running' THEN lease_until ELSE wake_at END) FROM wf_workflows"
            " WHERE queue = ? AND status IN ('ready', 'sleeping', 'running')",
            (queue,),
        ).fetchone()
        return r[0]

    # -- connection ----------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        create_private(self.path)
        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            with writing(conn):
                for sql in _SCHEMA:
                    conn.execute(sql)
                columns = {row[1] for row in conn.execute("PRAGMA table_info(wf_workflows)")}
                if "tries" not in columns:  # a file made before the column existed
                    conn.execute("ALTER TABLE wf_workflows ADD COLUMN tries INTEGER NOT NULL DEFAULT 0")
        except BaseException:
            conn.close()
            raise
        return conn

    def _unavailable(self, e: Exception) -> Exception:
        return WorkflowUnavailable(f"the workflow store at {self.path} is unavailable: {e}")
