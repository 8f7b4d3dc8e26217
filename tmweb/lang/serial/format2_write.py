"""Format 2: the fast encoding, for values of bounded nesting. This module defines the
format and writes it; format2_read.py reads it.

    bytes = MAGIC + kind + u32(len(head)) + head + body
    kind  = bit 1: the value is a continuation and body is its payload (else body is the
            value); bit 2: the body refers to arrays (AREF)
    head  = msgpack([program-version, [symbol, version, symbol, version, ...]])
    body  = msgpack(value)
    value = nil | bool | int | float | str | bytes       (msgpack natives)
          | [value, ...]                                 (a vector of natives and atoms)
          | ext(KW | SYM | BIGINT | BUILTIN | GLOBAL | STYPE, bytes)    (atoms, as format 1)
          | ext(REF | AREF, index)                       (an object met before)
          | ext(VEC | MAP | STRUCT | LIST | CLO | CONT, msgpack([...]))
          | ext(CELL | BOX, msgpack(value))
          | ext(CUSTOM | RESOURCE, msgpack([type, representation]))

msgpack's C code packs and unpacks every native value, which is most of what frames and
vectors hold. The writer's Python runs only for values msgpack does not know
(`default=`), the reader's only for arrays (`list_hook=`, which makes each a vector) and
extension values (`ext_hook=`, which builds the object at once): references point
backwards, so they are resolved while decoding and nothing is patched afterwards.

Numbering, the same on both sides, in two sequences. Objects with identity (ref, box,
closure, continuation) are numbered when they start, so a cycle can refer to one that is
not finished yet; references to them are ext(REF, i). Every msgpack array is numbered when
it ends, after its items; references to immutable values are ext(AREF, i) to their array.
A vector of natives and atoms is a plain array; a compound value holding compound values is
an extension whose payload array is packed by a nested call, so the writer knows when it
ends, and the value takes that array's number. When no AREF is written (kind bit 2 clear),
the reader does not number arrays at all. A continuation's payload is one array: for each
frame, top first, `code-index, pc, slot-count, closure-or-nil, slots...` (a live frame's
layout, with the slot count where the parent link goes), then `resumable`.

A value whose type has a Serializable (Resource-Serializable) instance is
ext(CUSTOM | RESOURCE, msgpack([type, representation])); the reader calls the instance's
`deserialize` (`unmarshal`) on the representation.

Every nested payload is a nested msgpack call, so the writer gives up (`Fallback`) past
`MAX_NEST` levels, as it does for a value met twice while it is being written (a cycle
through an immutable value, which the reader could not build children-first), a value it
cannot write, or an instance for a type msgpack writes itself (a string, a number...);
`serialize` (serial/__init__.py) then writes format 1.
The reader refuses more than `MAX_NEST` levels and validates every field; every value it
can produce is a Turmeric value (arrays are vectors, msgpack maps are refused).
"""

from __future__ import annotations

import struct
from itertools import chain
from typing import Any

import msgpack
from msgpack import ExtType, Timestamp

from ..classes import type_key
from ..code import Builtin, Closure, Code, Continuation
from ..values import BoolKey, Box, Keyword, Ref, Struct, StructType, Symbol, TList, TMap, TVector
from .common import X_BIGINT, X_KW, X_REF, X_STYPE, X_SYM, big_int_bytes, builtin_atom

MAGIC = b"TMK\x02"
FORMAT = 2
#: Nested compound values the writer writes (and the reader accepts) before format 1 takes
#: over; each level costs a few hundred bytes of C stack on both sides.
MAX_NEST = 64

# extension codes of compound values (atoms keep format 1's codes 1-7)
X_VEC, X_MAP, X_STRUCT, X_LIST, X_CLO, X_CONT, X_CELL, X_BOX, X_AREF = range(8, 17)
X_CUSTOM, X_RESOURCE = 17, 18  # a value through a Serializable / Resource-Serializable instance
#: Types msgpack writes itself, so format 2 cannot run an instance for them.
NATIVE_TYPES = frozenset({"nil", "bool", "int64", "float64", "string", "bytes"})

#: The length of the head, after MAGIC and the kind byte.
U32 = struct.Struct(">I")
K_CONT, K_AREFS = 1, 2  # bits of the kind byte after MAGIC
_tuple_new = tuple.__new__
#: Python objects msgpack would write natively but that are not Turmeric values.
_BAD = frozenset({list, dict, tuple, bytearray, memoryview, ExtType, Timestamp})
#: What a vector written as a plain array may hold: natives and atoms (no arrays inside).
_FLAT = frozenset({int, float, str, bytes, bool, type(None), Keyword, Symbol, Builtin, StructType})


class Fallback(Exception):
    """This value needs format 1 (too deep, a cycle through an immutable value, an instance
    for a native type, or something not serializable that format 1 will name precisely)."""


def _ext(code: int, data: bytes) -> ExtType:
    return _tuple_new(ExtType, (code, data))  # ExtType() checks its arguments; ours are right


def _make_ref(i: int, code: int = X_REF) -> ExtType:
    return _ext(code, i.to_bytes(1 if i < 256 else 2 if i < 65536 else 4, "big"))


_REFS: list[ExtType] = [_make_ref(i) for i in range(4096)]
_AREFS: list[ExtType] = [_make_ref(i, X_AREF) for i in range(4096)]
_KIND = [bytes([k]) for k in range(4)]
_BUSY = object()  # memo entry of a compound value whose items are being written
_KW: dict[Keyword, ExtType] = {}


# --------------------------------------------------------------------------- writing


class _Writer:
    """Per-runtime and reused: its msgpack packers (one per nesting level) cost to make."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.packers: list[msgpack.Packer] = []
        self.memo: dict[int, Any] = {}
        self.codes: list[Code] = []
        self.cindex: dict[Code, int] = {}
        self.nid = 0  # objects with identity numbered so far
        self.narr = 0  # arrays numbered so far
        self.arefs = False  # an AREF was written
        self.depth = 0
        self.heads: dict[tuple[Any, ...], bytes] = {}  # (prog, codes...) -> packed head
        # Serializable / Resource-Serializable instances, by type key, while writing
        self.hooked: Any = ()
        self.ser: dict[Any, Any] = {}
        self.res: dict[Any, Any] = {}
        self.unhooked: set[int] = set()  # ids of representations: written as they are
        self.keep: list[Any] = []  # representations, alive (and their ids unique) until done
        #: stop with `TooLarge` once the payloads packed so far pass this many bytes
        self.limit: int | None = None
        self.total = 0  # bytes of the nested payloads packed so far, each counted once
        self.inner = 0  # bytes of the payloads nested in the one being packed
        self.packer(0)

    def reset(self) -> None:
        self.memo.clear()
        self.codes.clear()
        self.cindex.clear()
        self.nid = 0
        self.narr = 0
        self.arefs = False
        self.depth = 0
        self.keep.clear()
        self.total = self.inner = 0

    def packer(self, d: int) -> msgpack.Packer:
        while len(self.packers) <= d:
            self.packers.append(
                msgpack.Packer(default=self.default, strict_types=True, use_bin_type=True)
            )
        return self.packers[d]

    def sub(self, payload: Any) -> bytes:
        """`payload` packed one nesting level down (a nested msgpack call)."""
        d = self.depth + 1
        if d > MAX_NEST:
            raise Fallback
        self.depth = d
        packers = self.packers
        outer, self.inner = self.inner, 0
        data: bytes = (packers[d] if d < len(packers) else self.packer(d)).pack(payload)
        self.depth = d - 1
        if self.limit is not None:
            # what this payload adds beyond those nested in it, so nothing counts twice
            self.total += len(data) - self.inner
            if self.total > self.limit:
                raise TooLarge(self.total, self.limit)
        self.inner = outer + len(data)
        return data

    def nested(self, payload: list[Any], xc: int, key: int) -> ExtType:
        """An extension value whose payload array is packed one level down; the value
        takes the array's number (it ends after everything inside it)."""
        if not _BAD.isdisjoint(map(type, payload)):
            raise Fallback
        data = self.sub(payload)
        i = self.narr
        self.narr = i + 1
        if key:
            self.memo[key] = _AREFS[i] if i < 4096 else _make_ref(i, X_AREF)
        return _tuple_new(ExtType, (xc, data))

    def code(self, code: Code) -> int:
        i = self.cindex.get(code)
        if i is None:
            i = self.cindex[code] = len(self.codes)
            self.codes.append(code)
        return i

    def default(self, o: Any) -> Any:
        """Called by msgpack for every value that is not a msgpack native."""
        if self.hooked and id(o) not in self.unhooked:
            key = type_key(o)
            if key in self.hooked:
                return self.hook(o, key)
        c = o.__class__
        if c is TVector:
            i = self.narr
            ref = _AREFS[i] if i < 4096 else _make_ref(i, X_AREF)
            r = self.memo.setdefault(id(o), ref)
            if r is not ref:  # met before
                if r is _BUSY:
                    raise Fallback  # a cycle through an immutable value
                self.arefs = True
                return r
            items = o.items
            if o.n != len(items):
                items = items[: o.n]
            if _FLAT.issuperset(map(type, items)):  # a plain array, which ends right here
                self.narr = i + 1
                return items
            self.memo[id(o)] = _BUSY
            return self.nested(items, X_VEC, id(o))
        if c is Keyword:
            x = _KW.get(o)
            if x is None:
                x = _KW[o] = _ext(X_KW, o.name.encode())
            return x
        if c is TMap or c is Struct or c is TList:
            memo = self.memo
            key = id(o)
            r = memo.get(key)
            if r is not None:
                if r is _BUSY:
                    raise Fallback
                self.arefs = True
                return r
            memo[key] = _BUSY
            if c is TMap:
                return self.nested(list(chain.from_iterable(o.d.items())), X_MAP, key)
            if c is Struct:
                return self.nested([o.type.qualified, *o.vals], X_STRUCT, key)
            return self.nested(list(o), X_LIST, key)
        if c is Continuation or c is Closure or c is Ref or c is Box:
            memo = self.memo
            key = id(o)
            r = memo.get(key)
            if r is not None:
                return r  # finished or in progress: the reader has its shell either way
            i = self.nid
            self.nid = i + 1
            memo[key] = _REFS[i] if i < 4096 else _make_ref(i)
            if c is Continuation:
                return self.nested(self.frames(o), X_CONT, 0)
            if c is Closure:
                return self.nested([self.code(o.code), *o.env], X_CLO, 0)
            if o.value.__class__ in _BAD:
                raise Fallback
            return _ext(X_CELL if c is Ref else X_BOX, self.sub(o.value))
        if c is BoolKey:
            return o.value  # a boolean map key; the reader makes it a key again
        if c is int:  # beyond 64 bits
            return _ext(X_BIGINT, big_int_bytes(o))
        if c is Symbol:
            return _ext(X_SYM, o.name.encode())
        if c is Builtin:
            named = builtin_atom(self.rt, o)
            if named is not None:
                return _ext(*named)
        if c is StructType:
            return _ext(X_STYPE, o.qualified.encode())
        raise Fallback

    def hook(self, o: Any, key: Any) -> ExtType:
        """`o` through its type's instance: the representation the program's `serialize`
        (or `marshal`) returns, written as it is (values inside it are hooked again)."""
        memo = self.memo
        r = memo.get(id(o))
        if r is not None:
            if r is _BUSY:
                raise Fallback  # the representation holds the value itself
            self.arefs = True
            return r  # shared twice, hooked once
        memo[id(o)] = _BUSY
        impl = self.ser.get(key)
        xc = X_CUSTOM
        if impl is None:
            impl = self.res[key]
            xc = X_RESOURCE
        rep = self.rt.machine.apply(impl, (o,))
        self.keep.append(rep)
        self.unhooked.add(id(rep))
        try:
            label = key.qualified if key.__class__ is StructType else key
            return self.nested([label, rep], xc, id(o))
        finally:
            self.unhooked.discard(id(rep))

    def frames(self, k: Continuation) -> list[Any]:
        """A continuation's payload: its frames laid end to end, then `resumable`."""
        out: list[Any] = []
        last = ci = cref = None
        for fr in k.frames:
            j = len(out)
            out += fr
            clo = fr[3]
            if clo is not last:  # recursion repeats one closure frame after frame
                last = clo
                ci = self.code(clo.code)
                cref = clo if clo.env else None  # None: the reader uses its code's plain one
            out[j] = ci
            out[j + 2] = len(fr) - 4  # the slot count, where the parent link is live
            out[j + 3] = cref
        out.append(k.resumable)
        return out


class TooLarge(Exception):
    """The value's bytes passed `limit` while being written (`written` so far)."""

    def __init__(self, written: int, limit: int) -> None:
        super().__init__(f"over {limit:,} bytes ({written:,} written when it stopped)")
        self.written = written
        self.limit = limit


def write(rt: Any, v: Any, prog: str, limit: int | None = None) -> bytes:
    """Format-2 bytes for `v`, or `Fallback` when it needs format 1; with `limit`, stops
    with `TooLarge` as soon as the bytes written pass it (a huge value fails fast)."""
    w: _Writer | None = rt.__dict__.pop("_format2_writer", None)  # one user at a time
    if w is None:
        w = _Writer(rt)
    w.limit = limit
    ser = rt.serializable.impls["serialize"]
    res = rt.resource_serializable.impls["marshal"]
    if ser or res:
        hooked = ser.keys() | res.keys()
        if not NATIVE_TYPES.isdisjoint(hooked):
            raise Fallback  # an instance for a type msgpack writes itself
        w.hooked, w.ser, w.res = hooked, ser, res
    elif w.hooked:
        w.hooked = ()
    c = v.__class__
    if c in _BAD:
        raise Fallback
    try:
        if c is Continuation and "continuation" not in w.hooked:
            # the usual root: its payload is the body, number 0 its shell
            w.memo[id(v)] = _REFS[0]
            w.nid = 1
            payload = w.frames(v)
            if not _BAD.isdisjoint(map(type, payload)):
                raise Fallback
            body = w.packers[0].pack(payload)
            kind = K_CONT
        else:
            body = w.packers[0].pack(v)
            kind = 0
        if w.arefs:
            kind |= K_AREFS
    except ValueError:  # msgpack's nesting limit (arrays in arrays), a lone surrogate...
        raise Fallback from None
    key = (prog, *w.codes)
    head = w.heads.get(key)
    if head is None:
        names: list[str] = []
        for code in w.codes:
            names.append(code.symbol)
            names.append(code.version)
        packed = msgpack.packb([prog, names], use_bin_type=True)
        head = U32.pack(len(packed)) + packed
        if len(w.heads) >= 64:
            w.heads.clear()
        w.heads[key] = head
    w.reset()
    rt._format2_writer = w  # only after a success: a failed writer may hold a half state
    return b"".join((MAGIC, _KIND[kind], head, body))
