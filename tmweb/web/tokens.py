"""Continuation tokens: a signed, timestamped random id - never the continuation itself.

The serialized continuation stays server-side under the id; the token only proves the
server made it, when, whether it is one-shot, which flow it belongs to, where that flow
started (so an expired step's page can link back to it) and which browser session it is
bound to. Keys rotate: the first key signs, every key in the list is accepted. Time comes
from a clock (seconds since the epoch, `time.time` by default) that tests replace to let a
token age without waiting.

A token is exactly what itsdangerous's `URLSafeTimedSerializer` (salt
`tmweb.continuation`) makes of `[id, once, ttl, flow, start, session]` - the public
contract (SPEC 2.3) - so itsdangerous reads tmweb's tokens and tmweb reads its. tmweb makes
and checks them itself, with the HMAC keys derived once: itsdangerous derives its key and
builds its signer objects on every call, which made a token cost 55 µs to make and 72 µs
to check, several times per request (docs/decisions.md, "Request path").
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .signing import b64decode, b64encode, hmac_function

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


class Tokens:
    """Makes and checks continuation tokens (itsdangerous's format, see above)."""

    def __init__(self, secret_keys: list[str], salt: str = SALT, clock: Clock = time.time) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        #: newest first; stored records are authenticated with them too (records.py)
        self.secret_keys = list(secret_keys)
        self.clock = clock
        # itsdangerous's Signer: key derivation "django-concat", HMAC-SHA1
        salted = salt.encode("utf-8") + b"signer"
        self._macs = [hmac_function(hashlib.sha1(salted + k.encode("utf-8")).digest(), "sha1")
                      for k in self.secret_keys]  # fmt: skip

    def new(
        self, ttl: int, once: bool, flow: str | None = None, start: str = "", session: str = ""
    ) -> tuple[str, TokenData]:
        """A fresh 128-bit id and the token that names it."""
        key = secrets.token_hex(16)
        ttl = int(ttl)
        payload: list[Any] = [key, 1 if once else 0, ttl]
        if flow is not None or session:
            payload += [flow or "", start, session]
        body = b64encode(json.dumps(payload, separators=(",", ":")).encode("utf-8"))
        stamp = int(self.clock())
        value = body + "." + b64encode(stamp.to_bytes(8, "big").lstrip(b"\0"))
        signature = self._macs[0](value.encode("ascii"))
        return value + "." + b64encode(signature), TokenData(key, once, ttl, flow, start, session)

    def check(self, token: str) -> TokenData:
        """The token's data; raises TokenInvalid or TokenExpired."""
        value, _, signature = token.rpartition(".")
        try:
            mac = b64decode(signature)
            signed = value.encode("ascii")
        except (ValueError, UnicodeEncodeError):
            raise TokenInvalid("not a token") from None
        if not value or not any(hmac.compare_digest(f(signed), mac) for f in self._macs):
            raise TokenInvalid("bad signature")
        body, _, stamp = value.rpartition(".")
        try:  # genuine from here on: only a key-holder could make these fail
            signed_at = int.from_bytes(b64decode(stamp), "big")
            raw = zlib.decompress(b64decode(body[1:])) if body.startswith(".") else b64decode(body)
            payload = json.loads(raw)
        except (ValueError, zlib.error):
            raise TokenInvalid("malformed token payload") from None
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
        age = int(self.clock()) - signed_at  # whole seconds, as itsdangerous counts
        if age > ttl or age < 0:
            when = datetime.fromtimestamp(signed_at, UTC)
            raise TokenExpired(f"signed at {when:%Y-%m-%d %H:%M:%S}, valid for {ttl} s", data)
        return data


def redact(token: str) -> str:
    """What logs may show of a token."""
    return token[:8] + "…" if len(token) > 8 else "…"
