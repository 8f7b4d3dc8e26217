"""Format 1: any value, any depth, with precise errors. This module defines the format
and writes it; format1_read.py reads it.

`serialize` (serial/__init__.py) writes the faster format 2 (format2_write.py) when it can
and this format otherwise: for values nested deeper than format 2 allows, for cycles that
pass through an immutable value, when a program has a Serializable / Resource-Serializable
instance for a type msgpack writes itself (a string, a number...), and to report a value
that is not serializable with the frame and variable that held it.

    bytes    = MAGIC + msgpack([FORMAT, program-version, code-table, objects, root])
    code-table = [symbol, version, symbol, version, ...]  (frames and closures index it)
    objects  = [record, ...]  each record is [tag, fields...]
    a value  = nil | bool | int | float | str | bytes        (msgpack natives, inline)
             | ext(KW|SYM|BIGINT|BUILTIN|STYPE, utf-8/bytes) (small atoms, inline)
             | ext(REF, index)                              (an entry of `objects`)

Objects with identity (refs, boxes, closures, frames, continuations) get their index
before their fields are written, so cycles work; immutable collections get theirs after
their children, so a loader can build every record in index order without recursion.
Loading validates every field and raises Turmeric errors only; nothing runs except
resolving code symbols (and the program's own deserialize hooks).
"""

from __future__ import annotations

import struct
import sys
from typing import Any

import msgpack

from .. import errors
from ..classes import builtin_type_name, type_key, type_label
from ..code import BASE, CLO, PC, Builtin, Closure, Code, Continuation, Frame
from ..values import Box, FileHandle, Keyword, Ref, Struct, StructType, Symbol, TList, TMap, TVector
from .common import X_BIGINT, X_KW, X_REF, X_STYPE, X_SYM, big_int_bytes, builtin_atom

MAGIC = b"TMK\x01"
FORMAT = 1

# record tags
R_LIST, R_VEC, R_MAP, R_STRUCT, R_CUSTOM, R_RESOURCE, R_REF, R_BOX, R_CLOSURE, R_FRAME, R_CONT = range(1, 12)

#: A reference's index, in the data of an ext(REF).
IDX = struct.Struct(">I")
#: How deeply values may nest when written (the writer recurses once per level).
DEPTH_LIMIT = 1_000_000


class _NotSerializable(Exception):
    """Carries the type name up the recursion; each level adds where it was found."""

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name
        self.path: list[str] = []


# --------------------------------------------------------------------------- writing


#: Values msgpack writes natively; no Python code runs for them (ints out of 64-bit range
#: make msgpack raise OverflowError, and the writer then runs again checking each int).
NATIVE = frozenset({str, float, bool, type(None), bytes, int})
_NATIVE_NO_INT = frozenset({str, float, bool, type(None), bytes})

_REFS: list[Any] = []
_KW_EXT: dict[Keyword, Any] = {}


def reference(i: int) -> Any:
    """The reference to object `i` (the first thousands are made once and reused)."""
    if i < len(_REFS):
        return _REFS[i]
    r = msgpack.ExtType(X_REF, IDX.pack(i))
    if i == len(_REFS) and i < 65536:
        _REFS.append(r)
    return r


class Writer:
    def __init__(self, rt: Any, check_ints: bool = False) -> None:
        self.rt = rt
        self.objects: list[Any] = []
        self.memo: dict[int, Any] = {}
        self.keep: list[Any] = []  # keep encoded objects alive so ids stay unique
        self.codes: list[str] = []
        self.code_index: dict[str, int] = {}
        self.ser_impls = rt.serializable.impls["serialize"]
        self.res_impls = rt.resource_serializable.impls["marshal"]
        self.hooks = bool(self.ser_impls or self.res_impls)
        # with hooks, every value goes through enc (an int64 or string may have one)
        self.native: frozenset[type] = (
            frozenset() if self.hooks else (_NATIVE_NO_INT if check_ints else NATIVE)
        )
        self.unhooked: set[int] = set()  # ids of hook results: written as they are

    def code(self, code: Code) -> int:
        i = self.code_index.get(code.symbol)
        if i is None:
            i = self.code_index[code.symbol] = len(self.codes) // 2
            self.codes.append(code.symbol)
            self.codes.append(code.version)
        return i

    # Objects are memoized by id. Every memoized object is part of the value being
    # written, so it stays alive (and its id unique) until the writer is done.
    def reserve(self, v: Any) -> tuple[int, Any]:
        i = len(self.objects)
        self.objects.append(None)
        ref = self.memo[id(v)] = reference(i)
        return i, ref

    def done(self, v: Any, record: list[Any]) -> Any:
        i = len(self.objects)
        self.objects.append(record)
        ref = self.memo[id(v)] = reference(i)
        return ref

    def items(self, xs: Any, label: Any) -> list[Any]:
        """Encode a sequence; natives are taken as they are. On failure, find the item
        that failed and say where it was (`label(i)`)."""
        native = self.native
        enc = self.enc
        try:
            return [x if x.__class__ in native else enc(x) for x in xs]
        except _NotSerializable:
            for i, x in enumerate(xs):  # only on the error path: say which item
                try:
                    enc(x)
                except _NotSerializable as e:
                    e.path.append(str(label(i)))
                    raise
            raise

    def enc(self, v: Any) -> Any:
        c = v.__class__
        if v is None or c is bool or c is float or c is str or c is bytes:
            if self.hooks and v is not None:
                return self.hooked(v) or v
            return v
        if c is int:
            if self.hooks:
                h = self.hooked(v)
                if h is not None:
                    return h
            if -(2**63) <= v < 2**64:
                return v
            return msgpack.ExtType(X_BIGINT, big_int_bytes(v))
        if (c is Keyword or c is Symbol) and self.hooks:
            h = self.hooked(v)
            if h is not None:
                return h
        if c is Keyword:
            x = _KW_EXT.get(v)
            if x is None:
                x = _KW_EXT[v] = msgpack.ExtType(X_KW, v.name.encode())
            return x
        if c is Symbol:
            return msgpack.ExtType(X_SYM, v.name.encode())
        ref = self.memo.get(id(v))
        if ref is not None:
            return ref
        if self.hooks:
            h = self.hooked(v)
            if h is not None:
                self.memo[id(v)] = h  # shared twice, hooked once
                return h
        if c is TVector or c is TList:
            xs = v.items[: v.n] if c is TVector else list(v)
            native = self.native
            enc = self.enc
            try:
                rec = [x if x.__class__ in native else enc(x) for x in xs]
            except _NotSerializable:
                self.items(xs, lambda i: f"[{i}]")  # raises, saying which item
                raise
            i = len(self.objects)
            self.objects.append([R_VEC if c is TVector else R_LIST, *rec])
            ref = self.memo[id(v)] = reference(i)
            return ref
        if c is TMap:
            flat: list[Any] = []
            for k, x in v.items():
                flat.append(k)
                flat.append(x)
            return self.done(v, [R_MAP, *self.items(flat, lambda i: "key" if i % 2 == 0 else _key_label(flat[i - 1]))])
        if c is Struct:
            fields = v.type.fields
            return self.done(v, [R_STRUCT, v.type.qualified, *self.items(v.vals, lambda i: fields[i])])
        if c is Ref or c is Box:
            i, ref = self.reserve(v)
            self.objects[i] = [R_REF if c is Ref else R_BOX, *self.items((v.value,), lambda i: "value")]
            return ref
        if c is Closure:
            i, ref = self.reserve(v)
            code = v.code
            env = self.items(v.env, lambda j: f"captured {code.free_names[j]}")
            self.objects[i] = [R_CLOSURE, self.code(code), *env]
            return ref
        if c is Continuation:
            i, ref = self.reserve(v)
            frames = [self.frame(fr) for fr in v.frames]
            self.objects[i] = [R_CONT, v.resumable, *frames]
            return ref
        if c is Builtin:
            named = builtin_atom(self.rt, v)
            if named is None:
                raise _NotSerializable("fn")
            return msgpack.ExtType(*named)
        if c is StructType:
            return msgpack.ExtType(X_STYPE, v.qualified.encode())
        raise _NotSerializable(builtin_type_name(v) if c is not FileHandle else "FileHandle")

    def item(self, x: Any, label: Any) -> Any:
        try:
            return self.enc(x)
        except _NotSerializable as e:
            e.path.append(str(label))
            raise

    def frame(self, fr: Frame) -> Any:
        memo = self.memo
        ref = memo.get(id(fr))
        if ref is not None:
            return ref
        objects = self.objects
        i = len(objects)
        objects.append(None)
        ref = memo[id(fr)] = reference(i)
        clo = fr[CLO]
        code = clo.code
        ci = self.code_index.get(code.symbol)
        if ci is None:
            ci = self.code(code)
        native = self.native
        enc = self.enc
        try:
            cref = enc(clo) if clo.env else None
            L = [x if x.__class__ in native else enc(x) for x in fr[BASE:]]
        except _NotSerializable:
            try:  # say which slot held it
                self.items(fr[BASE:], lambda j: _slot_label(code, j))
            except _NotSerializable as e2:
                e = e2
            e.path.append(f"frame {code.symbol}")
            raise e from None
        objects[i] = [R_FRAME, ci, fr[PC], cref, *L]
        return ref

    def hooked(self, v: Any) -> Any:
        """Encode `v` through a Serializable / Resource-Serializable instance, if any."""
        if id(v) in self.unhooked:
            return None
        key = type_key(v)
        impl = self.ser_impls.get(key)
        tag = R_CUSTOM
        if impl is None:
            impl = self.res_impls.get(key)
            tag = R_RESOURCE
            if impl is None:
                return None
        repr_ = self.rt.machine.apply(impl, (v,))
        self.keep.append(repr_)
        # the representation itself is written as it is (a hook may return its own
        # argument, or a value of its own type); values nested inside it are hooked
        self.unhooked.add(id(repr_))
        try:
            inner = self.item(repr_, f"{type_label(key)} representation")
        finally:
            self.unhooked.discard(id(repr_))
        i = len(self.objects)
        label = key.qualified if isinstance(key, StructType) else key
        self.objects.append([tag, label, inner])
        self.keep.append(v)
        return reference(i)


def _slot_label(code: Code, j: int) -> str:
    names = code.slot_names
    name = names[j] if j < len(names) else f"slot {j}"
    return f"variable {name}" if not name.startswith("%") else "a pending value"


def _key_label(k: Any) -> str:
    if k.__class__ is Keyword:
        return ":" + k.name
    return repr(k)


def write(rt: Any, v: Any, prog: str) -> bytes:
    """Format-1 bytes for `v`; raises `(not-serializable type-name path)`."""
    try:
        return _write(rt, v, prog, False)
    except OverflowError:  # an int beyond 64 bits was taken as native: check every int
        return _write(rt, v, prog, True)


def _write(rt: Any, v: Any, prog: str, check_ints: bool) -> bytes:
    w = Writer(rt, check_ints)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, DEPTH_LIMIT))  # Python-to-Python calls: no C stack
    try:
        root = w.enc(v)
    except _NotSerializable as e:
        path = " > ".join(reversed(e.path)) or "the value itself"
        raise errors.err(errors.NOT_SERIALIZABLE, e.type_name, path) from None
    except RecursionError:
        raise errors.err(errors.NOT_SERIALIZABLE, "value", "nested too deeply to serialize") from None
    finally:
        sys.setrecursionlimit(limit)
    payload = [FORMAT, prog, w.codes, w.objects, root]
    # surrogatepass: a string may hold a lone surrogate ("\ud800" in source); it round-trips
    return MAGIC + msgpack.packb(payload, use_bin_type=True, unicode_errors="surrogatepass")
