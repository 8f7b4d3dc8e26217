"""Incremental checkpoints: a continuation's bytes cut into content-defined chunks.

A checkpoint of a workflow usually differs from the previous one in a few places (the
innermost frames, a value that grew); its bytes are cut where the content says so (a run
of three bytes of a fixed pseudo-random class, between `MIN` and `MAX` bytes apart), so a
region that did not change is cut the same way again and makes the same chunks. Each chunk
is stored once per workflow under its BLAKE2b digest; a checkpoint writes its manifest (the
list of digests) and only the chunks the workflow has not stored yet. Large values that
stay put across checkpoints (a dataset being processed) are so stored once and referenced.
Cutting works on the serialized bytes, so the format, its sharing and its checks are the
serializer's, unchanged.
"""

from __future__ import annotations

import hashlib
import random

MAGIC = b"TMWC\x01"
DIGEST = 16
#: Below this a continuation is written whole: a manifest would save nothing.
MIN_INCREMENTAL = 4096
MIN, MAX = 128, 8192
_RUN = b"\x01\x01\x01"
_rnd = random.Random(20261205)  # fixed: every process must cut the same bytes the same way
_CLASS = bytes(1 if _rnd.random() < 0.25 else 0 for _ in range(256))


def split(data: bytes) -> list[bytes]:
    """`data` cut into chunks at content-defined points (all C-speed searches)."""
    marks = data.translate(_CLASS)
    out, pos, n = [], 0, len(data)
    while pos < n:
        i = marks.find(_RUN, pos + MIN, pos + MAX)
        end = i + len(_RUN) if i != -1 else min(n, pos + MAX)
        out.append(data[pos:end])
        pos = end
    return out


def digest(chunk: bytes) -> bytes:
    return hashlib.blake2b(chunk, digest_size=DIGEST).digest()


def manifest(digests: list[bytes]) -> bytes:
    return MAGIC + b"".join(digests)


def parse_manifest(state: bytes) -> list[bytes] | None:
    """The digests of a manifest, or None if `state` is a whole continuation."""
    if not state.startswith(MAGIC) or (len(state) - len(MAGIC)) % DIGEST:
        return None
    body = state[len(MAGIC) :]
    return [body[i : i + DIGEST] for i in range(0, len(body), DIGEST)]
