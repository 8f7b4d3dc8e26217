"""Continuation tokens: a signed, timestamped random id - never the continuation itself.

The serialized continuation stays server-side under the id; the token only proves the
server made it, when, whether it is one-shot, which flow it belongs to, and where that
flow started (so an expired step's page can link back to it). Keys rotate: the first key signs, every
key in the list is accepted. Time comes from a clock (seconds since the epoch, `time.time`
by default) that tests replace to let a token age without waiting.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

SALT = "tmweb.continuation"


class TokenInvalid(Exception):
    """The token was not made by this server (tampered, truncated, other key)."""


@dataclass(frozen=True, slots=True)
class TokenData:
    key: str
    once: bool
    ttl: int
    #: The flow the continuation belongs to (None in tokens made before flows existed).
    flow: str | None = None
    #: The path of the request that started the flow ("" when unknown).
    start: str = ""
    #: The browser session it is bound to ("" for a shareable one, or binding off).
    session: str = ""


class TokenExpired(Exception):
    """The token is genuine but older than the continuation's time to live; `data` is
    what it says (so a page can still link back to the start of its flow)."""

    def __init__(self, message: str, data: TokenData) -> None:
        super().__init__(message)
        self.data = data


Clock = Callable[[], float]


class _ClockSigner(TimestampSigner):
    """itsdangerous's timestamp signer, reading the time from `clock`."""

    def __init__(self, *args: Any, clock: Clock, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.clock = clock

    def get_timestamp(self) -> int:
        return int(self.clock())


class Tokens:
    """Signs and checks continuation tokens with itsdangerous."""

    def __init__(self, secret_keys: list[str], salt: str = SALT, clock: Clock = time.time) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        #: newest first; stored records are authenticated with them too (records.py)
        self.secret_keys = list(secret_keys)
        self.clock = clock
        # itsdangerous signs with the *last* key of the list and accepts all of them
        self._serializer = URLSafeTimedSerializer(
            list(reversed(secret_keys)),
            salt=salt,
            signer=_ClockSigner,
            signer_kwargs={"clock": clock},
        )

    def new(
        self, ttl: int, once: bool, flow: str | None = None, start: str = "", session: str = ""
    ) -> tuple[str, TokenData]:
        """A fresh 128-bit id and the token that names it."""
        key = secrets.token_hex(16)
        payload: list[Any] = [key, 1 if once else 0, int(ttl)]
        if flow is not None or session:
            payload += [flow or "", start, session]
        data = TokenData(key, once, int(ttl), flow, start, session)
        return self._serializer.dumps(payload), data

    def check(self, token: str) -> TokenData:
        """The token's data; raises TokenInvalid or TokenExpired."""
        try:
            payload, signed_at = self._serializer.loads(token, return_timestamp=True)
        except BadSignature as e:
            raise TokenInvalid(str(e)) from e
        if (
            not isinstance(payload, list)
            or len(payload) not in (3, 5, 6)
            or not isinstance(payload[0], str)
            or payload[1] not in (0, 1)
            or not isinstance(payload[2], int)
            or not all(isinstance(x, str) for x in payload[3:])
        ):
            raise TokenInvalid("malformed token payload")
        key, once, ttl = payload[:3]
        flow, start, session = (list(payload[3:]) + ["", "", ""])[:3]
        data = TokenData(key, bool(once), ttl, flow or None, start, session)
        try:
            self._serializer.loads(token, max_age=ttl)
        except SignatureExpired as e:
            raise TokenExpired(f"signed at {signed_at:%Y-%m-%d %H:%M:%S}, valid for {ttl} s", data) from e
        return data


def redact(token: str) -> str:
    """What logs may show of a token."""
    return token[:8] + "…" if len(token) > 8 else "…"
