"""`serialize` / `deserialize`: every value, continuations included, as msgpack bytes.

Two formats share one envelope (magic with the format version, program version, a code
table of (symbol, version) that frames and closures index, a value with back-references
for sharing and cycles):

- format 2 (format2_write.py, format2_read.py and the C decoder _decode.c) is what
  `serialize` writes: msgpack's C code does the work for native values, so it is several
  times faster;
- format 1 (format1_write.py, format1_read.py) is written when format 2 cannot be: values
  nested more than `format2_write.MAX_NEST` levels, a cycle through an immutable value, a
  Serializable / Resource-Serializable instance for a type msgpack writes itself (a string,
  a number...), and every value that is not serializable (it names the frame and variable
  in the error).

`deserialize` reads both; layout.py shows what bytes of either hold (`tmweb inspect`).
Nothing here uses pickle.
"""

from __future__ import annotations

import hashlib
from typing import Any

from . import format1_read, format1_write, format2_read, format2_write
from .common import corrupt
from .layout import Layout, RawFrame, format_of, layout

__all__ = [
    "Layout", "RawFrame", "TooLarge", "deserialize", "format_of", "layout", "program_version",
    "serialize", "serialize_format1",
]  # fmt: skip


def program_version(rt: Any) -> str:
    """A hash of the forms of every loaded module except the core library.

    Forms, not text: comments and whitespace do not change it. A module adds its hash
    when it starts loading, so the version is the same all through a run (imports
    that load more modules change it, once, when they load).
    """
    cached = getattr(rt, "version_cache", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    h = hashlib.sha256()
    for name in sorted(rt.modules):
        m = rt.modules[name]
        if name != "core" and m.form_hash:
            h.update(f"{name}={m.form_hash};".encode())
    rt.version_cache = h.hexdigest()[:12]
    return rt.version_cache  # type: ignore[no-any-return]


def serialize(rt: Any, v: Any, max_bytes: int | None = None) -> bytes:
    """Bytes for `v`; raises `(not-serializable type-name path)`. With `max_bytes`, a value
    whose bytes pass it raises `TooLarge`, in format 2 as soon as it is written past it."""
    prog = program_version(rt)
    try:
        data = format2_write.write(rt, v, prog, max_bytes)
    except format2_write.Fallback:
        data = format1_write.write(rt, v, prog)
    except RecursionError:  # a Python function's value nested too deeply for C
        data = format1_write.write(rt, v, prog)
    if max_bytes is not None and len(data) > max_bytes:
        raise TooLarge(len(data), max_bytes)
    return data


def serialize_format1(rt: Any, v: Any) -> bytes:
    """Format-1 bytes for `v`, whatever it is (tests and tools compare the formats)."""
    return format1_write.write(rt, v, program_version(rt))


def deserialize(rt: Any, data: Any) -> Any:
    """Rebuild a value from bytes of either format; every failure is a Turmeric error
    (corrupt-data, missing-function, schema-mismatch), never a Python exception."""
    if data.__class__ is bytes and data[:4] == _FORMAT2:
        return _read_format2(rt, data)
    if data.__class__ is not bytes:
        raise corrupt("deserialize: expected bytes")
    return format1_read.read(rt, data)


_FORMAT2, _read_format2 = format2_write.MAGIC, format2_read.read
TooLarge = format2_write.TooLarge
