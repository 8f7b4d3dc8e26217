"""Continuation stores: one small async interface, two implementations.

A store keeps serialized continuations (bytes) under short string keys, each with a TTL.
`get(key, once=True)` is an atomic take: of two concurrent takes exactly one gets the data,
which is what makes a one-shot continuation one-shot across processes.

A record may belong to a *flow* (one user's run through one route; its id is chosen by the
caller). `expire_flow(flow)` invalidates, at once and atomically, every record put in the
flow before it: each flow has a generation counter, each record keeps the generation it was
put in, `expire_flow` increments the counter, and a get returns a record only while the two
are equal. The counter lives at least as long as the flow's latest record, so no expired
record can become valid again. Records put after the expiry are valid.

- `SQLiteStore`, the embedded default: one file under the app's `.tmweb/` folder, shared by
  every worker process on the machine, kept across restarts.
- `RedisStore`: `redis://`, `rediss://` or `unix://` URLs, keys under a prefix, TTL by Redis
  expiry, takes by `GETDEL`; the keys of one flow share a hash slot (`{flow}` hash tags)
  and a flow's operations are Lua scripts, atomic on Redis Cluster too.

A record may also have an *owner*, a browser session: with `limits`, a put keeps each
owner within a budget of records and bytes by evicting the owner's records closest to
expiring (Racket's LRU continuation manager is the model: a user's oldest pages go first).

Every backend failure (connection refused, disk error...) surfaces as `StoreUnavailable`,
answered with 503; a store recovers by itself when its backend is back.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ..errors import ConfigError, StoreUnavailable
from .checks import OwnerLimits
from .redis import RedisStore
from .sqlite import SQLiteStore

__all__ = [
    "DEFAULT_SQLITE_PATH",
    "OwnerLimits",
    "RedisStore",
    "SQLiteStore",
    "Store",
    "StoreUnavailable",
    "open_store",
    "private_folder",
]

#: Where the embedded store lives, relative to the app's folder.
DEFAULT_SQLITE_PATH = os.path.join(".tmweb", "continuations.sqlite3")

_SCHEMES = "sqlite:///relative/path.db, sqlite:////absolute/path.db, redis://, rediss://, unix://"


@runtime_checkable
class Store(Protocol):
    """What the web layer needs from a continuation store. Every method is async."""

    #: The store's location for logs and messages, never with a password in it.
    url: str

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
        """Store `data` under `key` for `ttl` seconds, replacing any previous value. With
        `flow` (a non-empty id without braces), the record belongs to that flow. With
        `owner` and `limits`, the owner's records beyond the limits are evicted, closest
        to expiring first, never this one; returns how many were."""
        ...

    async def get(self, key: str, once: bool, flow: str | None = None) -> bytes | None:
        """The data under `key`, or None if missing or expired. `once=True` takes it:
        get and delete in one atomic step. `flow` must be the flow the record was put in
        (None for none), else the answer is None and nothing is taken; so is it if the
        flow was expired after the put."""
        ...

    async def expire_flow(self, flow: str) -> None:
        """Invalidate every record put in `flow` before this call, in every process, at
        once; records put in the flow afterwards are valid. Idempotent; an unknown flow
        is no error."""
        ...

    async def delete(self, key: str, flow: str | None = None) -> None:
        """Forget the record under `key` in `flow`; no error if it is missing."""
        ...

    async def ping(self) -> None:
        """Return if the backend answers, else raise `StoreUnavailable`."""
        ...

    async def close(self) -> None:
        """Release connections. Closing twice is harmless."""
        ...


def open_store(
    url: str | None,
    app_dir: str,
    clock: Callable[[], float] = time.time,
    max_bytes: int | None = None,
) -> Store:
    """The store a URL names; None or "" is the embedded SQLite file under `app_dir`.

    SQLite URLs follow the SQLAlchemy convention: `sqlite:///data.db` is relative to the
    current directory, `sqlite:////var/lib/app/data.db` is absolute. Redis URLs are passed to
    redis-py, except a `prefix` query parameter, which sets the key prefix (default
    "tmweb:"). Anything else raises `ConfigError`. `clock` is the time a SQLite store
    expires rows by; Redis expires keys by its own clock. `max_bytes` is the SQLite file's
    budget (rows closest to expiring are evicted beyond it); Redis's is its `maxmemory`.
    """
    scheme = (url or "sqlite").partition(":")[0].lower()
    if max_bytes is not None and scheme != "sqlite":
        raise ConfigError(
            "a store byte budget is for the SQLite store; cap a Redis store with its own "
            "maxmemory and maxmemory-policy volatile-ttl (see docs/web.md, Budgets)"
        )
    if not url:
        folder = os.path.join(os.path.abspath(app_dir), ".tmweb")
        try:
            private_folder(folder)
        except OSError as e:
            raise ConfigError(
                f"cannot create the folder {folder} for the embedded continuation store: "
                f"{e.strerror or e}; make it writable or pass a store URL"
            ) from e
        return SQLiteStore(os.path.join(folder, "continuations.sqlite3"), clock, max_bytes)
    if scheme == "sqlite":
        return SQLiteStore(_sqlite_path(url), clock, max_bytes)
    if scheme in ("redis", "rediss", "unix"):
        return RedisStore(url)
    raise ConfigError(f"unsupported store URL {_redact_scheme_only(url)!r}; use one of: {_SCHEMES}")


def private_folder(folder: str) -> None:
    """Create `folder` (tmweb's own `.tmweb/`, which holds the development key and the
    embedded store) readable by this user only, 0700, and tighten one an older tmweb made
    0755."""
    os.makedirs(folder, mode=0o700, exist_ok=True)
    if os.stat(folder).st_mode & 0o077:
        os.chmod(folder, 0o700)


def _sqlite_path(url: str) -> str:
    if not url.startswith("sqlite:///") or len(url) == len("sqlite:///") or "?" in url:
        raise ConfigError(
            f"bad SQLite store URL {url!r}: write sqlite:///relative/path.db or "
            "sqlite:////absolute/path.db (no host, no query)"
        )
    path = os.path.abspath(url[len("sqlite:///") :])
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise ConfigError(
            f"the folder {folder} of the SQLite store {url!r} does not exist; create it first"
        )
    return path


def _redact_scheme_only(url: str) -> str:
    """An unknown URL shown in an error, without anything that looks like a password."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
