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

What the service knows about one continuation is a `Record`; all of it travels in the
signed token. Every continuation belongs to a *flow*: one user's run through one route,
started by a request to the route and continued by every resume of its continuations.
`save(..., forward=True)` first expires every earlier continuation of the flow
(`send/forward`), `finish(flow)` expires them all (`send/finish`); the store does it
atomically for all server processes. A flow that was finished or forwarded past can leave
a note, the URL of a page of the app's choice, which the expired page of an earlier step
links to.
"""

from __future__ import annotations

import logging
from typing import Any

from ..lang.code import Closure, Continuation
from ..lang.errors import TurmericError
from ..lang.serial import TooLarge, deserialize, serialize
from ..lang.values import Struct, StructType
from .errors import (
    ContinuationExpired,
    ContinuationForbidden,
    ContinuationInvalid,
    ContinuationTooLarge,
    ContinuationUnloadable,
)
from .records import RecordExpired, RecordMeta, RecordTampered, seal, unseal
from .stores import OwnerLimits, Store
from .tokens import TokenData, TokenExpired, TokenInvalid, Tokens

log = logging.getLogger("tmweb")

__all__ = [
    "ContinuationExpired",
    "ContinuationForbidden",
    "ContinuationInvalid",
    "ContinuationTooLarge",
    "ContinuationUnloadable",
    "Continuations",
    "Record",
    "STEP",
    "is_step",
]


#: What `send/suspend` stores: the continuation, the function that builds its page (so a
#: GET of the step's URL can show the page again without resuming), and how the step is
#: resumed: "POST" when the page posts a form to the step's URL, else "GET".
STEP = StructType("%step", ("k", "page", "method"), "core")


def is_step(value: Any) -> bool:
    return value.__class__ is Struct and value.type is STEP


#: What the service knows about one stored continuation: its id, one-shot flag, time to
#: live, flow, the path that started the flow, and the session it is bound to. All of it
#: travels in the signed token (and the stored record repeats it, authenticated).
Record = TokenData


class Continuations:
    """Saves continuations in `store` under tokens signed by `tokens`, and loads them back.

    `runtime` is the app's Runtime: its code is what continuations are serialized against
    and resolved by (it may be None for a service that only reads bytes, as
    `tmweb inspect` does). `ttl` is the default time to live in seconds, `max_bytes` the
    size limit of one serialized continuation, `limits` the budget of each browser session
    (None: none), which must hold at least one continuation of the largest size.
    """

    def __init__(
        self,
        store: Store,
        tokens: Tokens,
        runtime: Any = None,
        *,
        ttl: int = 3600,
        max_bytes: int = 256 << 10,
        limits: OwnerLimits | None = None,
    ) -> None:
        if limits is not None and limits.max_bytes < max_bytes:
            raise ValueError(
                f"a session's byte budget ({limits.max_bytes}) must hold at least one "
                f"continuation of the largest size ({max_bytes})"
            )
        self.limits = limits
        self.store = store
        self.tokens = tokens
        self.runtime = runtime
        self.ttl = int(ttl)
        self.max_bytes = max_bytes

    async def save(
        self,
        k: Any,
        *,
        once: bool = False,
        ttl: int | None = None,
        flow: str | None = None,
        start: str = "",
        forward: bool = False,
        session: str = "",
        owner: str = "",
    ) -> str:
        """Store `k` in `flow` and return its token; with `forward`, every earlier
        continuation of the flow is expired first. Raises `ContinuationTooLarge` (nothing
        stored or expired), a Turmeric `not-serializable` error, or `StoreUnavailable`."""
        token, record = self.reserve(once=once, ttl=ttl, flow=flow, start=start, session=session)
        await self.put(record, k, forward=forward, owner=owner)
        return token

    def reserve(
        self,
        *,
        once: bool = False,
        ttl: int | None = None,
        flow: str | None = None,
        start: str = "",
        session: str = "",
    ) -> tuple[str, Record]:
        """A token and its record, with nothing stored yet: `send/suspend` needs the URL to
        build the page before it knows what to store under it."""
        ttl = self.ttl if ttl is None else ttl
        if ttl <= 0:
            raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")
        return self.tokens.new(ttl, once, flow, start, session)

    async def put(
        self, record: Record, value: Any, *, forward: bool = False, owner: str = ""
    ) -> None:
        """Store `value` (a continuation, a function or a `%step`) under a reserved record,
        counted against `owner`'s budget (the browser session that made it, bound to it or
        not; "" for none), whose continuations closest to expiring make room for it."""
        try:  # stops as soon as the bytes written pass the limit
            data = serialize(self.runtime, value, self.max_bytes)
        except TooLarge as e:
            raise ContinuationTooLarge(e.written, self.max_bytes) from None
        if forward:
            if record.flow is None:
                raise ValueError("forward needs the flow whose earlier continuations to expire")
            await self.store.expire_flow(record.flow)
        sealed = seal(self.tokens.secret_keys, self._meta(record, record.ttl), data)
        limits = self.limits if owner else None
        evicted = await self.store.put(
            record.key, sealed, record.ttl, record.once, flow=record.flow,
            owner=owner or None, limits=limits,
        )  # fmt: skip
        if evicted:
            log.info("session %s… is over its budget: %d older continuation(s) evicted", owner[:6], evicted)

    def _meta(self, record: Record, ttl: int = 0) -> RecordMeta:
        """What the stored record says about itself (`ttl` 0: to check one, not to make it)."""
        expires = int(self.tokens.clock()) + ttl + 1 if ttl else 0
        return RecordMeta(record.key, record.flow, record.session, record.once, expires)

    async def finish(self, flow: str, *, done_url: str | None = None, ttl: int | None = None) -> None:
        """Expire every continuation of `flow`. With `done_url`, the expired page of any of
        its steps links there (kept for `ttl` seconds, the default time to live)."""
        await self.store.expire_flow(flow)
        if done_url is not None:
            await self.note_done(flow, done_url, ttl)

    async def note_done(self, flow: str, done_url: str, ttl: int | None = None) -> None:
        """Remember `done_url` as where the flow's expired steps should point."""
        ttl = self.ttl if ttl is None else ttl
        note = Record(_done_key(flow), False, ttl)
        sealed = seal(self.tokens.secret_keys, self._meta(note, ttl), done_url.encode("utf-8"))
        await self.store.put(note.key, sealed, ttl, False)

    async def done_url(self, record: Record) -> str | None:
        """The page the app named for the record's finished flow, if any (authenticated:
        a writable store cannot plant a link on the app's pages)."""
        if record.flow is None:
            return None
        note = Record(_done_key(record.flow), False, 0)
        data = await self.store.get(note.key, False)
        if data is None:
            return None
        try:
            url = unseal(self.tokens.secret_keys, data, self._meta(note), self.tokens.clock())
        except (RecordTampered, RecordExpired):
            log.warning("the done-url note of a flow failed its check; ignored")
            return None
        return url.decode("utf-8", "replace")

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
            raise ContinuationExpired("the token has expired", e.data) from e
        return signed

    def check_session(self, record: Record, session: str | None) -> None:
        """Raise `ContinuationForbidden` if `record` is bound to a browser session other
        than `session` (the requester's). Nothing in the store is touched."""
        if record.session and record.session != session:
            raise ContinuationForbidden("this link belongs to another browser session", record)

    async def load(self, token: str | Record, *, take: bool | None = None) -> Any:
        """The continuation, one-argument function or `%step` saved under a token or a
        checked record, taken out of the store if it is one-shot (or as `take` says).
        Raises what `check` raises, `ContinuationExpired` if the store has nothing under
        it, `ContinuationUnloadable` if the running program cannot load it, or
        `StoreUnavailable`."""
        record = self.check(token) if isinstance(token, str) else token
        data = await self._read(record, take=record.once if take is None else take)
        try:
            k = deserialize(self.runtime, data)
        except TurmericError as e:
            raise ContinuationUnloadable(e.message, e) from e
        if k.__class__ is not Continuation and k.__class__ is not Closure and not is_step(k):
            raise ContinuationUnloadable("the stored value is not a continuation")
        return k

    async def take(self, record: Record) -> None:
        """Use up a one-shot record (after `load(..., take=False)` showed what it is):
        atomic, so of two concurrent takes one raises `ContinuationExpired`."""
        await self._read(record, take=True)

    async def peek(self, token: str | Record) -> bytes:
        """The stored bytes, read without taking a one-shot and without loading them (for
        `tmweb inspect`). Raises as `load` does, short of loading."""
        record = self.check(token) if isinstance(token, str) else token
        return await self._read(record, take=False)

    async def _read(self, record: Record, take: bool) -> bytes:
        """The blob stored under `record`, once its authentication checks out."""
        data = await self.store.get(record.key, take, flow=record.flow)
        if data is None:
            raise ContinuationExpired(
                "nothing is stored under this token (expired, unknown or used)",
                record,
                completed=record.flow is not None,
            )
        try:
            return unseal(self.tokens.secret_keys, data, self._meta(record), self.tokens.clock())
        except RecordExpired as e:
            raise ContinuationExpired(f"the stored continuation {e}", record) from e
        except RecordTampered as e:
            log.error("TAMPERED: the stored record %s… failed its check: %s", record.key[:8], e)
            raise ContinuationUnloadable(f"the stored record failed its integrity check: {e}") from e


def _done_key(flow: str) -> str:
    """Where a finished flow's note lives: not a random id, so never a continuation's key."""
    return "flow-done:" + flow
