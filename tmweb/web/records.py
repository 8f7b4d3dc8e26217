"""Stored records, authenticated with the app's keys, so that the store cannot forge one.

What the store holds under a continuation's id is

    MAGIC (4 bytes) | meta length (u32) | meta (JSON) | blob | HMAC-SHA256 (32 bytes)

`meta` is what the server knows about the continuation besides its bytes: the id it is
stored under, its flow, the browser session it is bound to, whether it is one-shot, and
when it expires. The MAC covers all of it and the blob, under a key derived from each of the
app's secret keys (the newest signs, every listed one verifies, as for tokens). So a record
edited in place, a record copied under another id, or one whose flags were rewritten fails
the same check, and is never deserialized: someone who can write to Redis or to the SQLite
file can delete continuations, not change what they do.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from functools import lru_cache

from .signing import MacKeys

MAGIC = b"TMR1"
_LEN = struct.Struct(">I")
_MAC = 32


class RecordTampered(Exception):
    """A stored record failed its check: not made with one of the app's keys, edited, moved
    under another id, or not what the token that names it says."""


class RecordExpired(Exception):
    """A genuine record past the expiry it was stored with (a store that has not swept it
    yet, or servers whose clocks disagree)."""


@dataclass(frozen=True, slots=True)
class RecordMeta:
    """The server-side facts about one stored continuation."""

    key: str
    flow: str | None
    session: str
    once: bool
    expires: int  # seconds since the epoch


@lru_cache(maxsize=16)
def _macs(secret_keys: tuple[str, ...]) -> MacKeys:
    # derived (sha256(b"tmweb.record\0" + key)), so a record's MAC never doubles as a
    # token's; computed once per key list, not per record
    return MacKeys(list(secret_keys), b"tmweb.record", size=_MAC)


def seal(secret_keys: list[str], meta: RecordMeta, blob: bytes) -> bytes:
    """The bytes to store: `blob` with its metadata, authenticated with the newest key."""
    fields = {"expires": meta.expires, "flow": meta.flow, "key": meta.key, "once": meta.once,
              "session": meta.session}  # in sorted order, as the first records were written
    head = json.dumps(fields, separators=(",", ":")).encode("utf-8")
    body = MAGIC + _LEN.pack(len(head)) + head + blob
    return body + _macs(tuple(secret_keys)).mac(body)


def unseal(secret_keys: list[str], data: bytes, expect: RecordMeta, now: float) -> bytes:
    """The blob of a stored record, after checking its MAC with every key and that its
    metadata is `expect`'s (expiry: still in the future at `now`); else `RecordTampered`."""
    if len(data) < len(MAGIC) + _LEN.size + _MAC or not data.startswith(MAGIC):
        raise RecordTampered("not a tmweb record (no header)")
    body, mac = data[:-_MAC], data[-_MAC:]
    if not _macs(tuple(secret_keys)).verify(body, mac):
        raise RecordTampered("its MAC does not match any of the app's keys")
    (n,) = _LEN.unpack_from(body, len(MAGIC))
    start = len(MAGIC) + _LEN.size
    try:
        meta = RecordMeta(**json.loads(body[start : start + n]))
    except (ValueError, TypeError) as e:  # only reachable with a key-holder's help
        raise RecordTampered(f"its metadata cannot be read: {e}") from None
    got = (meta.key, meta.flow, meta.session, meta.once)
    want = (expect.key, expect.flow, expect.session, expect.once)
    if got != want:
        raise RecordTampered("it is not the record its token names")
    if now >= meta.expires:
        raise RecordExpired("it has expired")
    return body[start + n :]


__all__ = ["MAGIC", "RecordExpired", "RecordMeta", "RecordTampered", "seal", "unseal"]
