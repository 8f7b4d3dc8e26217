"""One SQLite file shared by the processes of one machine: what the continuation store
(`tmweb.web.stores.sqlite`) and the workflow tables (`tmweb.workflow.sqlite`) both need.

Each store keeps one connection per process, made on first use and used from worker
threads under a lock (`asyncio.to_thread`, so the event loop never waits on the disk). A
failure of the file (disk full, unreadable, removed) drops the connection, so the next
call starts afresh, and is raised as the store's own "unavailable" error; a programming
error (bad SQL, a constraint) is raised as it is.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class SQLiteFile:
    """The connection of one store to the file at `path`. A store says how to connect
    (`_connect`), what its unavailable error is (`_unavailable`), and may wrap each call
    (`_attempt`, e.g. to retry a statement that finds the write lock taken)."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _unavailable(self, e: Exception) -> Exception:
        raise NotImplementedError

    def _attempt(self, conn: sqlite3.Connection, fn: Callable[..., T], args: tuple[object, ...]) -> T:
        return fn(conn, *args)

    def _call(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                return self._attempt(self._conn, fn, args)
            except (sqlite3.ProgrammingError, sqlite3.IntegrityError, sqlite3.InterfaceError):
                raise  # a bug, not an unavailable store
            except (sqlite3.DatabaseError, OSError) as e:
                # Start afresh next time: the file may have been fixed, moved back, freed...
                self._drop()
                raise self._unavailable(e) from e

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


def create_private(path: str) -> None:
    """Create the file at `path` with mode 0600 if it does not exist (it holds what users
    typed); SQLite gives its -wal and -shm files the database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


@contextmanager
def writing(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, begun with the write lock taken (so it never has to upgrade
    a read lock, which can fail under contention), rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.rollback()
        raise
    conn.execute("COMMIT")


__all__ = ["SQLiteFile", "create_private", "writing"]
