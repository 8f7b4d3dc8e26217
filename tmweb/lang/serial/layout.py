"""What serialized bytes hold, read without loading any code: the envelope, the code
table, the frames of a continuation and the size of each part (`tmweb inspect`).

Both formats are read as raw msgpack here: references and extension values stay as they
are written, nothing is looked up or built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgpack
from msgpack import ExtType

from ..values import Keyword
from . import format1_read, format1_write, format2_write
from .common import X_BIGINT, X_KW, X_REF, corrupt
from .format2_write import (
    K_CONT,
    U32,
    X_AREF,
    X_BOX,
    X_CELL,
    X_CLO,
    X_CONT,
    X_CUSTOM,
    X_LIST,
    X_MAP,
    X_RESOURCE,
    X_STRUCT,
    X_VEC,
)

__all__ = ["Layout", "RawFrame", "format_of", "layout"]


@dataclass(slots=True)
class RawFrame:
    """One frame as the bytes hold it, before any code is looked up."""

    code_index: int
    pc: Any
    slots: list[str]  # short descriptions of the raw slot values
    size: int  # bytes


@dataclass(slots=True)
class Layout:
    """What serialized bytes hold, read without loading any code (for `tmweb inspect`)."""

    format: int
    program_version: str
    codes: list[tuple[str, str]]  # (symbol, version)
    parts: list[tuple[str, int]]  # (part, bytes), adding up to the whole
    objects: int  # objects with their own record or extension
    frames: list[RawFrame] | None = None  # when the value is a continuation
    resumable: bool = True


def format_of(data: bytes) -> int | None:
    """The format version of serialized bytes, or None if they are not ours."""
    if data.startswith(format2_write.MAGIC):
        return format2_write.FORMAT
    if data.startswith(format1_write.MAGIC):
        return format1_write.FORMAT
    return None


def layout(data: Any) -> Layout:
    """What serialized bytes of either format hold; raises corrupt-data."""
    if data.__class__ is not bytes:
        raise corrupt("deserialize: expected bytes")
    if data.startswith(format2_write.MAGIC):
        return format2_layout(data)
    return format1_layout(data)


# --------------------------------------------------------------------------- format 1


def _size1(x: Any) -> int:
    """Bytes one decoded part takes as written (refs and keywords back as exts)."""
    return len(msgpack.packb(_as_written1(x), use_bin_type=True, unicode_errors="surrogatepass"))


def _as_written1(x: Any) -> Any:
    c = x.__class__
    if c is list:
        return [_as_written1(y) for y in x]
    if c is tuple:
        return format1_write.reference(x[0])
    if c is Keyword:
        return msgpack.ExtType(X_KW, x.name.encode())
    return x


def _raw_short1(x: Any) -> str:
    if x.__class__ is tuple:
        return f"#<object {x[0]}>"
    if x.__class__ is Keyword:
        return ":" + x.name
    if isinstance(x, msgpack.ExtType):
        return x.data.decode(errors="replace")
    return repr(x)[:60]


def format1_layout(data: bytes) -> Layout:
    """What format-1 bytes hold, without loading code; raises corrupt-data."""
    prog, codes, objects, root = format1_read.unpack_envelope(data)
    sizes = [("code table", _size1(codes)), ("objects", _size1(objects)), ("root", _size1(root))]
    lay = Layout(
        format1_write.FORMAT,
        prog,
        list(zip(codes[::2], codes[1::2])),
        [("envelope", len(data) - sum(n for _, n in sizes)), *sizes],
        len(objects),
    )
    rec = objects[root[0]] if root.__class__ is tuple and root[0] < len(objects) else None
    if rec and rec[0] == format1_write.R_CONT:
        lay.resumable = bool(rec[1])
        lay.frames = []
        for r in rec[2:]:
            fr = objects[r[0]] if r.__class__ is tuple and r[0] < len(objects) else None
            if fr and fr[0] == format1_write.R_FRAME and len(fr) >= 4:
                lay.frames.append(RawFrame(fr[1], fr[2], [_raw_short1(x) for x in fr[4:]], _size1(fr)))
    return lay


# --------------------------------------------------------------------------- format 2

_KINDS = {
    X_VEC: "vector", X_MAP: "map", X_STRUCT: "struct", X_LIST: "list", X_CLO: "fn",
    X_CONT: "continuation", X_CELL: "ref", X_BOX: "box", X_CUSTOM: "custom",
    X_RESOURCE: "resource",
}  # fmt: skip


class _RawExt:
    """An extension value read without building anything (for `layout`)."""

    __slots__ = ("code", "data")

    def __init__(self, code: int, data: bytes) -> None:
        self.code = code
        self.data = data

    def short(self) -> str:
        code = self.code
        if code == X_REF or code == X_AREF:
            return f"#<object {int.from_bytes(self.data, 'big')}>"
        if code == X_KW:
            return ":" + self.data.decode(errors="replace")
        if code in _KINDS:
            return f"#<{_KINDS[code]}, {len(self.data)} bytes>"
        if code == X_BIGINT:
            return str(int.from_bytes(self.data, "big", signed=True)) if self.data else "?"
        return self.data.decode(errors="replace")


def _as_written2(x: Any) -> Any:
    if x.__class__ is _RawExt:
        return ExtType(x.code, x.data)
    if x.__class__ is list:
        return [_as_written2(y) for y in x]
    return x


def _raw_short2(x: Any) -> str:
    if x.__class__ is _RawExt:
        return x.short()
    if x.__class__ is list:
        return "[" + " ".join(_raw_short2(y) for y in x) + "]"
    return repr(x)[:60]


def format2_layout(data: bytes) -> Layout:
    """What format-2 bytes hold, without loading code; raises corrupt-data."""
    try:
        n = U32.unpack_from(data, 5)[0]
        kind = data[4]
        prog, names = msgpack.unpackb(data[9 : 9 + n], raw=False)
        count = [0]

        def raw(code: int, payload: bytes) -> _RawExt:
            if code in _KINDS:
                count[0] += 1
            return _RawExt(code, payload)

        body = msgpack.unpackb(data[9 + n :], raw=False, ext_hook=raw, max_map_len=0)
    except Exception as e:
        raise corrupt(f"deserialize: malformed data ({type(e).__name__}: {e})") from None
    lay = Layout(
        format2_write.FORMAT,
        str(prog),
        list(zip(names[::2], names[1::2])),
        [("header", 9), ("code table", n), ("body", len(data) - 9 - n)],
        count[0] + (kind & K_CONT),
    )
    try:
        if kind & K_CONT and body.__class__ is list and body:
            _raw_frames(lay, body)
    except Exception as e:
        raise corrupt(f"deserialize: malformed frames ({type(e).__name__}: {e})") from None
    return lay


def _raw_frames(lay: Layout, body: list[Any]) -> None:
    lay.resumable = bool(body[-1])
    lay.frames = []
    j = 0
    while j + 4 <= len(body) - 1:
        count = body[j + 2]
        size = 4 + count if count.__class__ is int and count >= 0 else 4
        rec = body[j : j + size]
        size_bytes = sum(len(msgpack.packb(_as_written2(x), use_bin_type=True)) for x in rec)
        lay.frames.append(RawFrame(rec[0], rec[1], [_raw_short2(x) for x in rec[4:]], size_bytes))
        j += size
