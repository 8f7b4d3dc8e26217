"""MACs with rotating keys, for tokens, session cookies and stored records.

Each use derives its own key from each of the app's secret keys (`purpose` is part of the
derivation), so a MAC made for one use never passes for another. The newest key signs;
every listed key verifies, so keys rotate without logging anyone out. One HMAC-SHA256 per
signature or check, in C (`hmac.digest`), with the derived keys computed once: the request
path signs and checks several times per request, and itsdangerous, which derives its key
on every call and signs a base64 text, costs about ten times as much.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable

try:  # OpenSSL's HMAC objects: a copy of a keyed one skips the key setup per MAC
    from _hashlib import hmac_new as _hmac_new
except ImportError:  # pragma: no cover - a Python without OpenSSL's hashlib
    _hmac_new = None


def hmac_function(key: bytes, digest: str) -> Callable[[bytes], bytes]:
    """`msg -> HMAC(key, msg)` with the key set up once (about half the cost of
    `hmac.digest` per call, which sets the key up every time)."""
    if _hmac_new is not None:
        try:
            keyed = _hmac_new(key, digestmod=digest)
        except ValueError:  # pragma: no cover - a digest OpenSSL does not offer
            keyed = None
        if keyed is not None:

            def mac(msg: bytes) -> bytes:
                h = keyed.copy()
                h.update(msg)
                return h.digest()

            return mac
    return lambda msg: hmac.digest(key, msg, digest)


class MacKeys:
    """The derived keys of `purpose` for `secret_keys` (newest first), and MACs of
    `size` bytes (16, 128 bits, unless a use wants the whole SHA-256)."""

    __slots__ = ("keys", "size", "_macs")

    def __init__(self, secret_keys: list[str], purpose: bytes, size: int = 16) -> None:
        if not secret_keys:
            raise ValueError("at least one secret key is needed")
        self.keys = [hashlib.sha256(purpose + b"\0" + k.encode("utf-8")).digest() for k in secret_keys]
        self.size = size
        self._macs = [hmac_function(k, "sha256") for k in self.keys]

    def mac(self, msg: bytes) -> bytes:
        """The MAC of `msg` under the newest key."""
        return self._macs[0](msg)[: self.size]

    def verify(self, msg: bytes, mac: bytes) -> bool:
        """Whether `mac` is `msg`'s MAC under one of the keys (in constant time per key)."""
        size = self.size
        return any(hmac.compare_digest(f(msg)[:size], mac) for f in self._macs)

    def sign(self, msg: bytes) -> bytes:
        """`msg` followed by its MAC."""
        return msg + self.mac(msg)

    def unsign(self, data: bytes) -> bytes | None:
        """The message of `sign`'s output, or None if its MAC does not check out."""
        size = self.size
        if len(data) < size:
            return None
        msg, mac = data[:-size], data[-size:]
        return msg if self.verify(msg, mac) else None


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding: fits in a path segment, a query or a cookie."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_FROM_URLSAFE = bytes.maketrans(b"-_", b"+/")


def b64decode(text: str) -> bytes:
    """The bytes of `b64encode`'s text; raises ValueError for anything else (strictly: no
    stray characters, so one value has exactly one text)."""
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError:
        raise ValueError("not base64 text") from None
    if b"+" in raw or b"/" in raw or b"=" in raw:
        raise ValueError("not URL-safe base64 text")
    try:
        return binascii.a2b_base64(raw.translate(_FROM_URLSAFE) + b"=" * (-len(raw) % 4), strict_mode=True)
    except binascii.Error:
        raise ValueError("not base64 text") from None


__all__ = ["MacKeys", "b64decode", "b64encode"]
