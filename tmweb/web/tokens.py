"""Continuation tokens: a signed, timestamped random id - never the continuation itself.

The serialized continuation stays server-side under the id; the token only proves the
server made it, when, whether it is one-shot, which flow it belongs to, where that flow
started (so an expired step's page can link back to it) and which browser session it is
bound to. Keys rotate: the first key signs, every key in the list is accepted. Time comes
from a clock (seconds since the epoch, `time.time` by default) that tests replace to let a
token age without waiting.

A token is URL-safe base64 of

    0x02 | msgpack [id, one-shot, ttl, signed at, flow, start, session] | HMAC-SHA256/128

(32-digit hex ids travel as their 16 bytes): one HMAC to make or check, with a key derived
for tokens alone (signing.py). Tokens of the first format, itsdangerous's
`URLSafeTimedSerializer` (they contain dots; the new ones never do), are still accepted, so
links handed out before an upgrade keep working.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgpack
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from .signing import MacKeys, b64decode, b64encode

SALT = "tmweb.continuation"
_VERSION = b"\x02"


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
        self._macs = MacKeys(self.secret_keys, SALT.encode("utf-8"))
        # tokens of the first format: itsdangerous accepts every key of the list
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
        raw = secrets.token_bytes(16)
        key = raw.hex()
        ttl = int(ttl)
        payload = [raw, 1 if once else 0, ttl, int(self.clock()), _pack_id(flow or ""), start, _pack_id(session)]
        msg = _VERSION + msgpack.packb(payload)
        return b64encode(self._macs.sign(msg)), TokenData(key, once, ttl, flow, start, session)

    def check(self, token: str) -> TokenData:
        """The token's data; raises TokenInvalid or TokenExpired."""
        if "." in token:
            return self._check_v1(token)
        try:
            signed = b64decode(token)
        except ValueError:
            raise TokenInvalid("not a token") from None
        msg = self._macs.unsign(signed)
        if msg is None or msg[:1] != _VERSION:
            raise TokenInvalid("bad signature")
        try:
            payload = msgpack.unpackb(msg[1:])
        except (ValueError, msgpack.UnpackException):  # only with a key-holder's help
            raise TokenInvalid("malformed token payload") from None
        if not isinstance(payload, list) or len(payload) != 7:
            raise TokenInvalid("malformed token payload")
        raw, once, ttl, signed_at, flow, start, session = payload
        if (
            not isinstance(raw, bytes)
            or once not in (0, 1)
            or not isinstance(ttl, int)
            or not isinstance(signed_at, int)
            or not isinstance(start, str)
        ):
            raise TokenInvalid("malformed token payload")
        flow, session = _unpack_id(flow), _unpack_id(session)
        data = TokenData(raw.hex(), bool(once), ttl, flow or None, start, session)
        age = int(self.clock()) - signed_at  # whole seconds, as itsdangerous counted
        if age > ttl or age < 0:
            when = datetime.fromtimestamp(signed_at, UTC)
            raise TokenExpired(f"signed at {when:%Y-%m-%d %H:%M:%S}, valid for {ttl} s", data)
        return data

    def _check_v1(self, token: str) -> TokenData:
        """A token of the first format (itsdangerous), made before an upgrade."""
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


def _pack_id(text: str) -> str | bytes:
    """A 32-digit lower-case hex id as its 16 bytes (half the token), anything else as is."""
    if len(text) == 32:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            return text
        if raw.hex() == text:
            return raw
    return text


def _unpack_id(value: Any) -> str:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, str):
        return value
    raise TokenInvalid("malformed token payload")


def redact(token: str) -> str:
    """What logs may show of a token."""
    return token[:8] + "…" if len(token) > 8 else "…"
