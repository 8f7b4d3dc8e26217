"""Format 1, the graph format: any value, any depth, with precise errors.

`serialize.py` writes the faster format 2 (serial_tree.py) when it can and this format
otherwise: for values nested deeper than format 2 allows, for cycles that pass through an
immutable value, when a program has a Serializable / Resource-Serializable instance for a
type msgpack writes itself (a string, a number...), and to report a value that is not
serializable with the frame and variable that held it.

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
from typing import Any

import msgpack

from . import errors as E
from .classes import builtin_type_name, type_key, type_label
from .code import BASE, CLO, PC, Builtin, Closure, Code, Continuation, Frame
from .errors import TurmericError
from .serial_common import (
    X_BIGINT,
    X_KW,
    X_REF,
    X_STYPE,
    X_SYM,
    Layout,
    RawFrame,
    atom,
    big_int_bytes,
    builtin_atom,
    corrupt,
    load_hook,
    special_frames,
    struct_type,
)
from .values import (
    Box,
    FileHandle,
    Keyword,
    Ref,
    Struct,
    StructType,
    Symbol,
    TList,
    TMap,
    TVector,
    mkey,
    tlist,
)

MAGIC = b"TMK\x01"
FORMAT = 1

# record tags
R_LIST, R_VEC, R_MAP, R_STRUCT, R_CUSTOM, R_RESOURCE, R_REF, R_BOX, R_CLOSURE, R_FRAME, R_CONT = range(1, 12)
_SHELLS = {R_REF, R_BOX, R_CLOSURE, R_FRAME, R_CONT}

_IDX = struct.Struct(">I")
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
_NATIVE = frozenset({str, float, bool, type(None), bytes, int})
_NATIVE_NO_INT = frozenset({str, float, bool, type(None), bytes})

_REFS: list[Any] = []
_KW_EXT: dict[Keyword, Any] = {}


def _ref(i: int) -> Any:
    """The reference to object `i` (the first thousands are made once and reused)."""
    if i < len(_REFS):
        return _REFS[i]
    r = msgpack.ExtType(X_REF, _IDX.pack(i))
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
            frozenset() if self.hooks else (_NATIVE_NO_INT if check_ints else _NATIVE)
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
        ref = self.memo[id(v)] = _ref(i)
        return i, ref

    def done(self, v: Any, record: list[Any]) -> Any:
        i = len(self.objects)
        self.objects.append(record)
        ref = self.memo[id(v)] = _ref(i)
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
            ref = self.memo[id(v)] = _ref(i)
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
        ref = memo[id(fr)] = _ref(i)
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
        return _ref(i)


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
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, DEPTH_LIMIT))  # Python-to-Python calls: no C stack
    try:
        root = w.enc(v)
    except _NotSerializable as e:
        path = " > ".join(reversed(e.path)) or "the value itself"
        raise E.err(E.NOT_SERIALIZABLE, e.type_name, path) from None
    except RecursionError:
        raise E.err(E.NOT_SERIALIZABLE, "value", "nested too deeply to serialize") from None
    finally:
        sys.setrecursionlimit(limit)
    payload = [FORMAT, prog, w.codes, w.objects, root]
    # surrogatepass: a string may hold a lone surrogate ("\ud800" in source); it round-trips
    return MAGIC + msgpack.packb(payload, use_bin_type=True, unicode_errors="surrogatepass")


# --------------------------------------------------------------------------- reading


def unpack_envelope(data: Any) -> tuple[str, list[Any], list[Any], Any]:
    """Check the frame of the bytes: (program version, code table, objects, root)."""
    if data.__class__ is not bytes:
        raise corrupt("deserialize: expected bytes")
    if not data.startswith(MAGIC):
        raise corrupt("deserialize: not a Turmeric serialized value (bad magic bytes)")
    try:
        payload = msgpack.unpackb(
            data[len(MAGIC) :],
            raw=False,
            strict_map_key=False,
            use_list=True,
            ext_hook=_ext_hook,
            unicode_errors="surrogatepass",
        )
    except Exception as e:
        raise corrupt(f"deserialize: malformed data ({type(e).__name__}: {e})") from None
    if payload.__class__ is not list or len(payload) != 5:
        raise corrupt("deserialize: malformed envelope")
    fmt, prog, codes, objects, root = payload
    if fmt != FORMAT:
        raise corrupt(f"deserialize: unsupported format version {fmt!r} (this runtime reads {FORMAT})")
    if prog.__class__ is not str or codes.__class__ is not list or objects.__class__ is not list:
        raise corrupt("deserialize: malformed envelope")
    if len(codes) % 2 or not all(c.__class__ is str for c in codes):
        raise corrupt("deserialize: malformed code table")
    return prog, codes, objects, root


def _ext_hook(code: int, data: bytes) -> Any:
    """Called by msgpack for each extension value: references become 1-tuples (a tuple is
    never a Turmeric value) and keywords Keywords; the rest stays for Reader.val."""
    if code == X_REF and len(data) == 4:
        return _IDX.unpack(data)
    if code == X_KW:
        try:
            return Keyword(data.decode())
        except UnicodeDecodeError:
            pass
    return msgpack.ExtType(code, data)


class Reader:
    def __init__(self, rt: Any, prog: str, codes: list[str], objects: list[list[Any]]) -> None:
        self.rt = rt
        self.prog = prog
        self.code_syms = codes
        self.codes: list[Code | None] = [None] * (len(codes) // 2)
        self.records = objects
        self.built: list[Any] = [_UNBUILT] * len(objects)
        self.frame_checks: list[tuple[Closure, Code]] = []
        self.plain: dict[Code, Closure] = {}  # one closure per code without captures

    def code(self, i: Any) -> Code:
        if i.__class__ is not int or not 0 <= i < len(self.codes):
            raise corrupt(f"deserialize: bad code index {i!r}")
        c = self.codes[i]
        if c is None:
            sym, ver = self.code_syms[2 * i], self.code_syms[2 * i + 1]
            special = special_frames().get(sym)
            c = special.code if special is not None else self.rt.find_code(sym)
            if c is None:
                raise E.err(E.MISSING_FUNCTION, sym)
            if c.version != ver:
                raise E.err(E.SCHEMA_MISMATCH, sym, self.prog)
            self.codes[i] = c
        return c

    def val(self, x: Any, limit: int) -> Any:
        c = x.__class__
        if c is tuple:  # a reference, as _ext_hook decoded it
            i = x[0]
            if i >= len(self.built):
                raise corrupt(f"deserialize: reference {i} out of range")
            v = self.built[i]
            if v is _UNBUILT or (i >= limit and self.records[i][0] not in _SHELLS):
                raise corrupt(f"deserialize: reference {i} points forward")
            if v.__class__ is list:  # only a continuation may hold a frame (`frame_at`)
                raise corrupt(f"deserialize: reference {i} to a frame outside a continuation")
            return v
        if c is Keyword:
            return x
        if c is msgpack.ExtType:
            if x.code == X_REF:
                raise corrupt("deserialize: bad reference")
            return atom(self.rt, x.code, x.data)
        if x is None or c is bool or c is int or c is float or c is str or c is bytes:
            return x
        raise corrupt(f"deserialize: unexpected {type(x).__name__} in the data")

    def frame_at(self, x: Any) -> list[Any]:
        """The frame a continuation's record refers to."""
        if x.__class__ is not tuple or x[0] >= len(self.records) or self.records[x[0]][0] != R_FRAME:
            raise corrupt("deserialize: continuation holds something that is not a frame")
        return self.built[x[0]]  # type: ignore[no-any-return]

    def struct_type(self, qualified: str) -> StructType:
        return struct_type(self.rt, qualified)

    def build(self, root: Any) -> Any:
        recs = self.records
        built = self.built
        # resolve every code symbol first: this loads the modules that define them, whose
        # `instance` forms register the hooks the records below may need
        for i in range(len(self.codes)):
            self.code(i)
        # phase 1: shells for objects with identity
        shells: list[int] = []
        values: list[int] = []
        make = _SHELL_MAKERS
        for i, r in enumerate(recs):
            if r.__class__ is not list or not r:
                raise corrupt("deserialize: malformed object table")
            tag = r[0]
            mk = make.get(tag) if tag.__class__ is int else None
            if mk is not None:
                built[i] = mk()
                shells.append(i)
            elif tag in _VALUES and tag.__class__ is int:
                values.append(i)
            else:
                raise corrupt(f"deserialize: unknown record tag {tag!r}")
        # phase 2: immutable values, in index order (children come first)
        for i in values:
            r = recs[i]
            tag = r[0]
            if tag == R_LIST:
                built[i] = tlist([x if x.__class__ in _NATIVE else self.val(x, i) for x in r[1:]])
            elif tag == R_VEC:
                built[i] = TVector([x if x.__class__ in _NATIVE else self.val(x, i) for x in r[1:]])
            elif tag == R_MAP:
                if len(r) % 2 != 1:
                    raise corrupt("deserialize: map with a key but no value")
                d = {}
                for j in range(1, len(r), 2):
                    k = mkey(self.val(r[j], i))
                    try:
                        d[k] = self.val(r[j + 1], i)
                    except TypeError:
                        raise corrupt("deserialize: unhashable map key") from None
                built[i] = TMap(d)
            elif tag == R_STRUCT:
                if len(r) < 2 or r[1].__class__ is not str:
                    raise corrupt("deserialize: malformed struct")
                t = self.struct_type(r[1])
                vals = tuple(self.val(x, i) for x in r[2:])
                if len(vals) != len(t.fields):
                    raise E.err(E.SCHEMA_MISMATCH, t.qualified, self.prog)
                built[i] = Struct(t, vals)
            else:  # custom hooks
                built[i] = self.hook(tag, r, i)
        # phase 3: fill the shells
        n = len(recs)
        for i in shells:
            r = recs[i]
            tag = r[0]
            o = built[i]
            if tag == R_FRAME:
                self.fill_frame(o, r, n)
            elif tag == R_REF or tag == R_BOX:
                if len(r) != 2:
                    raise corrupt("deserialize: malformed ref")
                o.value = self.val(r[1], n)
            elif tag == R_CLOSURE:
                if len(r) < 2:
                    raise corrupt("deserialize: malformed closure")
                code = self.code(r[1])
                env = tuple(self.val(x, n) for x in r[2:])
                if len(env) != len(code.free_names):
                    raise corrupt(f"deserialize: closure of {code.symbol} has the wrong number of captured values")
                o.code = code
                o.env = env
            else:
                if len(r) < 2 or r[1].__class__ is not bool:
                    raise corrupt("deserialize: malformed continuation")
                o.frames = tuple(self.frame_at(x) for x in r[2:])
                o.resumable = r[1]
        for clo, code in self.frame_checks:
            if getattr(clo, "code", None) is not code:
                raise corrupt(f"deserialize: frame of {code.symbol} has a closure of other code")
        return self.val(root, len(recs))

    def fill_frame(self, o: Frame, r: list[Any], n: int) -> None:
        if len(r) < 4 or r[2].__class__ is not int:
            raise corrupt("deserialize: malformed frame")
        code = self.code(r[1])
        pc = r[2]
        special = special_frames().get(code.symbol)
        if special is None and r[3] is None and len(r) - 4 == code.nslots and 0 <= pc < code.nblocks:
            # the common case: a frame of a function without captured variables
            clo = self.plain.get(code)
            if clo is None:
                clo = self.plain[code] = Closure(code, ())
            val = self.val
            o[:] = [code.fn, pc, None, clo, *[x if x.__class__ in _NATIVE else val(x, n) for x in r[4:]]]
            return
        if special is not None:
            clo = special
            want = 0 if code.symbol == "core/%prompt" else 1
            if pc != 0 or r[3] is not None or len(r) - 4 != want:
                raise corrupt(f"deserialize: malformed {code.symbol} frame")
        else:
            clo = self.val(r[3], n) if r[3] is not None else Closure(code, ())
            if clo.__class__ is not Closure:
                raise corrupt(f"deserialize: frame of {code.symbol} has a bad closure")
            self.frame_checks.append((clo, code))
        val = self.val
        L = [x if x.__class__ in _NATIVE else val(x, n) for x in r[4:]]
        if special is None and (len(L) != code.nslots or not 0 <= pc < code.nblocks):
            raise corrupt(f"deserialize: frame of {code.symbol} does not fit its code")
        if special is not None and L and L[0].__class__ not in (Closure, Builtin):
            raise corrupt(f"deserialize: the handler of a {code.symbol} frame is not a function")
        o[:] = [code.fn, pc, None, clo, *L]

    def hook(self, tag: int, r: list[Any], i: int) -> Any:
        if len(r) != 3:
            raise corrupt("deserialize: malformed custom value")
        return load_hook(self.rt, tag == R_RESOURCE, r[1], self.val(r[2], i))


_UNBUILT = object()
_SHELL_MAKERS: dict[int, Any] = {
    R_FRAME: list,  # a frame is a list, filled in phase 3
    R_REF: lambda: Ref(None),
    R_BOX: lambda: Box(None),
    R_CLOSURE: lambda: Closure.__new__(Closure),
    R_CONT: lambda: Continuation.__new__(Continuation),
}
_VALUES = frozenset({R_LIST, R_VEC, R_MAP, R_STRUCT, R_CUSTOM, R_RESOURCE})


def read(rt: Any, data: Any) -> Any:
    """Rebuild a value from format-1 bytes; every failure is a Turmeric error (corrupt-data, missing-function,
    schema-mismatch), never a Python exception."""
    prog, codes, objects, root = unpack_envelope(data)
    rd = Reader(rt, prog, codes, objects)
    try:
        return rd.build(root)
    except TurmericError:
        raise
    except RecursionError:
        raise corrupt("deserialize: data nested too deeply") from None
    except Exception as e:
        raise corrupt(f"deserialize: malformed data ({type(e).__name__}: {e})") from None


# --------------------------------------------------------------------------- inspection


def _size(x: Any) -> int:
    """Bytes one decoded part takes as written (refs and keywords back as exts)."""
    return len(msgpack.packb(_as_written(x), use_bin_type=True, unicode_errors="surrogatepass"))


def _as_written(x: Any) -> Any:
    c = x.__class__
    if c is list:
        return [_as_written(y) for y in x]
    if c is tuple:
        return _ref(x[0])
    if c is Keyword:
        return msgpack.ExtType(X_KW, x.name.encode())
    return x


def _raw_short(x: Any) -> str:
    if x.__class__ is tuple:
        return f"#<object {x[0]}>"
    if x.__class__ is Keyword:
        return ":" + x.name
    if isinstance(x, msgpack.ExtType):
        return x.data.decode(errors="replace")
    return repr(x)[:60]


def layout(data: bytes) -> Layout:
    """What format-1 bytes hold, without loading code; raises corrupt-data."""
    prog, codes, objects, root = unpack_envelope(data)
    sizes = [("code table", _size(codes)), ("objects", _size(objects)), ("root", _size(root))]
    lay = Layout(
        FORMAT,
        prog,
        list(zip(codes[::2], codes[1::2])),
        [("envelope", len(data) - sum(n for _, n in sizes)), *sizes],
        len(objects),
    )
    rec = objects[root[0]] if root.__class__ is tuple and root[0] < len(objects) else None
    if rec and rec[0] == R_CONT:
        lay.resumable = bool(rec[1])
        lay.frames = []
        for r in rec[2:]:
            fr = objects[r[0]] if r.__class__ is tuple and r[0] < len(objects) else None
            if fr and fr[0] == R_FRAME and len(fr) >= 4:
                lay.frames.append(RawFrame(fr[1], fr[2], [_raw_short(x) for x in fr[4:]], _size(fr)))
    return lay
