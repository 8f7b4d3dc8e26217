"""Reading format 1 (format1_write.py describes the format): msgpack decodes the envelope
at once (its records are flat, so nothing recurses), then the reader builds every record in
index order: shells for objects with identity first, then immutable values children-first,
then the shells' fields. Every field is validated; every failure is a Turmeric error.
"""

from __future__ import annotations

from typing import Any

import msgpack

from .. import errors
from ..code import Builtin, Closure, Code, Continuation, Frame
from ..errors import TurmericError
from ..values import Box, Keyword, Ref, Struct, StructType, TMap, TVector, mkey, tlist
from .common import X_KW, X_REF, atom, corrupt, load_hook, special_frames, struct_type
from .format1_write import (
    FORMAT,
    IDX,
    MAGIC,
    NATIVE,
    R_BOX,
    R_CLOSURE,
    R_CONT,
    R_CUSTOM,
    R_FRAME,
    R_LIST,
    R_MAP,
    R_REF,
    R_RESOURCE,
    R_STRUCT,
    R_VEC,
)

#: Records of objects with identity: built as empty shells first, so references may point
#: forward to them (cycles).
_SHELLS = {R_REF, R_BOX, R_CLOSURE, R_FRAME, R_CONT}


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
        return IDX.unpack(data)
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
                raise errors.err(errors.MISSING_FUNCTION, sym)
            if c.version != ver:
                raise errors.err(errors.SCHEMA_MISMATCH, sym, self.prog)
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
                built[i] = tlist([x if x.__class__ in NATIVE else self.val(x, i) for x in r[1:]])
            elif tag == R_VEC:
                built[i] = TVector([x if x.__class__ in NATIVE else self.val(x, i) for x in r[1:]])
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
                    raise errors.err(errors.SCHEMA_MISMATCH, t.qualified, self.prog)
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
            o[:] = [code.fn, pc, None, clo, *[x if x.__class__ in NATIVE else val(x, n) for x in r[4:]]]
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
        L = [x if x.__class__ in NATIVE else val(x, n) for x in r[4:]]
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
