"""The lifecycle of a stored continuation: save it under a token, load it back.

This is the only code that talks to a store about continuations. Saving serializes `k`,
checks its size, stores the bytes under a fresh random id for its time to live and returns
the signed token that names the id. Loading checks the token first (a tampered or
expired one never reaches the store), then reads the bytes - taking them, for a one-shot,
so that of two concurrent loads exactly one succeeds - and deserializes them.

The built-ins (`save-continuation`, `load-continuation`, and through them the send/suspend
family) and the `/k/{token}` endpoint both go through a `Continuations` service. What goes
wrong comes back as one of three exceptions, each answered with its page by the app:
`ContinuationInvalid` (400), `ContinuationExpired` (410) and its subclass
`ContinuationUnloadable` (410, logged), besides `StoreUnavailable` (503) from the store.

What the service knows about one continuation is a `Record`. Today all of it travels in
the signed token; flows, session binding and records authenticated in the store will add
their fields there and their checks here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..lang.code import Closure, Continuation
from ..lang.errors import TurmericError
from ..lang.serial import deserialize, serialize
from .errors import (
    ContinuationExpired,
    ContinuationInvalid,
    ContinuationTooLarge,
    ContinuationUnloadable,
)
from .stores import Store
from .tokens import TokenExpired, TokenInvalid, Tokens

__all__ = [
    "ContinuationExpired",
    "ContinuationInvalid",
    "ContinuationTooLarge",
    "ContinuationUnloadable",
    "Continuations",
    "Record",
]


@dataclass(frozen=True, slots=True)
class Record:
    """What the service knows about one stored continuation."""

    #: The store key: a random 128-bit id, in hex.
    key: str
    #: One-shot: the first load takes it out of the store.
    once: bool
    #: Seconds it stays resumable after it was saved.
    ttl: int


class Continuations:
    """Saves continuations in `store` under tokens signed by `tokens`, and loads them back.

    `runtime` is the app's Runtime: its code is what continuations are serialized against
    and resolved by (it may be None for a service that only reads bytes, as
    `tmweb inspect` does). `ttl` is the default time to live in seconds, `max_bytes` the
    size limit of one serialized continuation.
    """

    def __init__(
        self,
        store: Store,
        tokens: Tokens,
        runtime: Any = None,
        *,
        ttl: int = 3600,
        max_bytes: int = 1 << 20,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.runtime = runtime
        self.ttl = int(ttl)
        self.max_bytes = max_bytes

    async def save(
        self, k: Continuation | Closure, *, once: bool = False, ttl: int | None = None
    ) -> str:
        """Store `k` and return its token. Raises `ContinuationTooLarge` (nothing stored),
        a Turmeric `not-serializable` error, or `StoreUnavailable`."""
        ttl = self.ttl if ttl is None else ttl
        if ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
        data = serialize(self.runtime, k)
        if len(data) > self.max_bytes:
            raise ContinuationTooLarge(len(data), self.max_bytes)
        token, signed = self.tokens.new(ttl, once)
        await self.store.put(signed.key, data, ttl, once)
        return token

    def check(self, token: str) -> Record:
        """The record a token names, from the token alone: no store access. Raises
        `ContinuationInvalid` or `ContinuationExpired`."""
        try:
            signed = self.tokens.check(token)
        except TokenInvalid as e:
            raise ContinuationInvalid(
                "the token is not valid (tampered or from another server)"
            ) from e
        except TokenExpired as e:
            raise ContinuationExpired("the token has expired") from e
        return Record(signed.key, signed.once, signed.ttl)

    async def load(self, token: str | Record) -> Continuation | Closure:
        """The continuation (or one-argument function) saved under a token or a checked
        record, taken out of the store if it is one-shot. Raises what `check` raises,
        `ContinuationExpired` if the store has nothing under it, `ContinuationUnloadable`
        if the running program cannot load it, or `StoreUnavailable`."""
        record = self.check(token) if isinstance(token, str) else token
        data = await self._read(record, take=record.once)
        try:
            k = deserialize(self.runtime, data)
        except TurmericError as e:
            raise ContinuationUnloadable(e.message, e) from e
        if k.__class__ is not Continuation and k.__class__ is not Closure:
            raise ContinuationUnloadable("the stored value is not a continuation")
        return k

    async def peek(self, token: str | Record) -> bytes:
        """The stored bytes, read without taking a one-shot and without loading them (for
        `tmweb inspect`). Raises as `load` does, short of loading."""
        record = self.check(token) if isinstance(token, str) else token
        return await self._read(record, take=False)

    async def _read(self, record: Record, take: bool) -> bytes:
        data = await self.store.get(record.key, take)
        if data is None:
            raise ContinuationExpired(
                "nothing is stored under this token (expired, unknown or used)"
            )
        return data
