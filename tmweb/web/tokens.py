"""Continuation tokens: a signed, timestamped random id - never the continuation itself.

The serialized continuation stays server-side under the id; the token only proves the
server made it, when, and whether it is one-shot. Keys rotate: the first key signs, every
key in the list is accepted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

SALT = "tmweb.continuation"


class TokenInvalid(Exception):
    """The token was not made by this server (tampered, truncated, other key)."""


class TokenExpired(Exception):
    """The token is genuine but older than the continuation's time to live."""


@dataclass(frozen=True, slots=True)
class TokenData:
    key: str
    once: bool
    ttl: int


class Tokens:
    """Signs and checks continuation tokens with itsdangerous."""

    def __init__(self, secret_keys: list[str], salt: str = SALT) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        # itsdangerous signs with the *last* key of the list and accepts all of them
        self._s = URLSafeTimedSerializer(list(reversed(secret_keys)), salt=salt)

    def new(self, ttl: int, once: bool) -> tuple[str, TokenData]:
        """A fresh 128-bit id and the token that names it."""
        key = secrets.token_hex(16)
        token = self._s.dumps([key, 1 if once else 0, int(ttl)])
        return token, TokenData(key, once, int(ttl))

    def check(self, token: str) -> TokenData:
        """The token's data; raises TokenInvalid or TokenExpired."""
        try:
            payload, signed_at = self._s.loads(token, return_timestamp=True)
        except SignatureExpired as e:  # pragma: no cover - max_age is checked below
            raise TokenExpired(str(e)) from e
        except BadSignature as e:
            raise TokenInvalid(str(e)) from e
        if (
            not isinstance(payload, list)
            or len(payload) != 3
            or not isinstance(payload[0], str)
            or payload[1] not in (0, 1)
            or not isinstance(payload[2], int)
        ):
            raise TokenInvalid("malformed token payload")
        key, once, ttl = payload
        try:
            self._s.loads(token, max_age=ttl)
        except SignatureExpired as e:
            raise TokenExpired(f"signed at {signed_at:%Y-%m-%d %H:%M:%S}, valid for {ttl} s") from e
        return TokenData(key, bool(once), ttl)


def redact(token: str) -> str:
    """What logs may show of a token."""
    return token[:8] + "…" if len(token) > 8 else "…"
