"""Reading format 2 (format2_write.py describes the format): the C decoder (_decode.c) or,
where it was not built, msgpack's unpackers decode the bytes, and their hooks build each
Turmeric value as soon as its items are decoded. Both paths accept and refuse the same bytes.

Every value the reader can produce is a Turmeric value: arrays become vectors, msgpack
maps are refused, msgpack's timestamp extension becomes a float, and every other
extension is one of ours or corrupt data.
"""

from __future__ import annotations

import os
from typing import Any

import msgpack

from .. import errors
from ..code import Builtin, Closure, Code, Continuation
from ..errors import TurmericError
from ..values import Box, Keyword, Ref, Struct, TMap, TVector, mkey, tlist
from .common import X_KW, X_REF, atom, corrupt, load_hook, special_frames, struct_type
from .format2_write import (
    K_CONT,
    MAX_NEST,
    U32,
    X_AREF,
    X_BOX,
    X_CELL,
    X_CLO,
    X_CONT,
    X_CUSTOM,
    X_MAP,
    X_RESOURCE,
    X_STRUCT,
    X_VEC,
)

try:  # the C decoder (_decode.c), built by `pip install` where a C compiler is found
    from . import _decode
except ImportError:  # pragma: no cover - tested by TMWEB_PURE_PYTHON=1 instead
    _decode = None  # type: ignore[assignment]
else:
    _decode.set_vector_type(TVector)

#: The C decoder's `decode`, or None: read with msgpack's Unpacker (the same values, about
#: twice as slow for a small continuation). TMWEB_PURE_PYTHON=1 turns it off.
DECODE: Any = (
    None if _decode is None or os.environ.get("TMWEB_PURE_PYTHON", "0") not in ("", "0")
    else _decode.decode
)  # fmt: skip
_fill: Any = _decode.fill if _decode is not None else None

#: What the reader needs of one code-table entry to rebuild a frame, as a tuple:
#: (fn, closure for frames without captures, frame size, blocks, kind, code).
Info = tuple[Any, Closure, int, int, int, Code]
PLAIN, PROMPT_FRAME, HANDLER_FRAME = 0, 1, 2  # kinds of frame
_new = object.__new__


def _info(code: Code, special: Closure | None) -> Info:
    if special is None:
        return (code.fn, Closure(code, ()), 4 + code.nslots, code.nblocks, PLAIN, code)
    if code.symbol == "core/%prompt":
        return (code.fn, special, 4, 1, PROMPT_FRAME, code)
    return (code.fn, special, 5, 1, HANDLER_FRAME, code)  # try / try-with: + the handler


def _resolve(rt: Any, head: bytes) -> tuple[str, list[Info], list[tuple[str, Code]]]:
    """The program version and code table of `head`, resolved against `rt`, and the
    (symbol, code) pairs a cached copy must still find in `rt.codes` to be used again."""
    try:
        h = msgpack.unpackb(head, raw=False, use_list=True, max_map_len=0)
    except Exception as e:
        raise corrupt(f"deserialize: malformed header ({type(e).__name__}: {e})") from None
    if h.__class__ is not list or len(h) != 2 or h[0].__class__ is not str:
        raise corrupt("deserialize: malformed header")
    prog, names = h
    if names.__class__ is not list or len(names) % 2 or not all(x.__class__ is str for x in names):
        raise corrupt("deserialize: malformed code table")
    specials = special_frames()
    infos: list[Info] = []
    plain: list[tuple[str, Code]] = []
    for j in range(0, len(names), 2):
        sym, ver = names[j], names[j + 1]
        special = specials.get(sym)
        code = special.code if special is not None else rt.find_code(sym)
        if code is None:
            raise errors.err(errors.MISSING_FUNCTION, sym)
        if code.version != ver:
            raise errors.err(errors.SCHEMA_MISMATCH, sym, prog)
        infos.append(_info(code, special))
        if special is None:
            plain.append((sym, code))
    return prog, infos, plain


def _no_map(pairs: Any) -> Any:
    raise corrupt("deserialize: a msgpack map (format 2 writes none)")


_KW_BY_BYTES: dict[bytes, Keyword] = {}


class _Reader:
    """Per-runtime and reused: its msgpack unpackers cost to make."""

    def __init__(self, rt: Any) -> None:
        self.rt = rt
        self.codes: dict[str, Code] = rt.codes
        self.ups: dict[int, msgpack.Unpacker] = {}
        self.built: list[Any] = []  # objects with identity, by number
        self.arrays: list[Any] = []  # arrays (as vectors, or the value they became)
        arrays_append = self.arrays.append

        def numbered(items: list[Any]) -> TVector:  # list_hook when AREFs are written
            v = TVector(items)
            arrays_append(v)
            return v

        self.numbered = numbered
        self.hook = self.ext_value  # bound once: msgpack's and the C decoder's `ext_hook`
        self.infos: list[Info] = []
        self.checks: list[tuple[Closure, Code]] = []
        self.busy = False  # reading: a nested read needs another reader
        self.depth = 0
        self.prog = ""
        self.hit: Any = None  # the code table of the last read
        self.arefs = 0  # 1 while reading a body that has AREFs
        #: head bytes -> [program version, code infos, (symbol, code) pairs to check, head
        #: bytes, the runtime's code generation when they were last found current]
        self.heads: dict[bytes, list[Any]] = {}
        self.top = self.unpacker(4096, 0)  # for the usual: a small body, no AREFs

    def drop(self) -> None:
        """Forget this reader (its state is not known good, or its buffers are big)."""
        if self.rt.__dict__.get("_format2_reader") is self:
            del self.rt._format2_reader

    def unpacker(self, size: int, d: int) -> msgpack.Unpacker:
        """The unpacker for data of `size` bytes at nesting level `d`.

        Unpackers keep their state on the heap (unpackb's is 40 KB of C stack per nested
        call). One per level, size class and list hook: msgpack allocates an array's slots
        before reading them, so an unpacker never accepts more items than its data has bytes.
        """
        k = size.bit_length()
        if k < 12:
            k = 12
        key = (d << 7) | (self.arefs << 6) | k
        up = self.ups.get(key)
        if up is None:
            if len(self.ups) >= 128:  # odd data made many: start again rather than hoard
                self.ups.clear()
            up = self.ups[key] = msgpack.Unpacker(
                ext_hook=self.hook,
                list_hook=self.list_hook(),  # every array is a vector
                raw=False,
                use_list=True,
                max_map_len=0,  # format 2 writes no msgpack maps...
                object_pairs_hook=_no_map,  # ...not even an empty one
                max_array_len=1 << k,
                max_buffer_size=2**31 - 1,
                read_size=4096,
                timestamp=1,  # msgpack's own timestamp extension: a float, never an object
            )
        return up

    def ext_value(self, code: int, data: bytes) -> Any:
        """msgpack's `ext_hook`: build the object now (its children are built already)."""
        if code == X_REF:
            try:
                return self.built[int.from_bytes(data, "big")]
            except IndexError:
                raise corrupt("deserialize: a reference to an object not read yet") from None
        if code == X_KW:
            x = _KW_BY_BYTES.get(data)
            if x is None:
                x = atom(self.rt, code, data)
                if len(_KW_BY_BYTES) < 10_000:
                    _KW_BY_BYTES[data] = x
            return x
        if code == X_AREF:
            try:
                return self.arrays[int.from_bytes(data, "big")]
            except IndexError:
                raise corrupt("deserialize: a reference to an array not read yet") from None
        if code < X_VEC or code > X_RESOURCE:
            return atom(self.rt, code, data)  # the other atoms; unknown codes are corrupt
        shell: Any = None
        if X_CLO <= code <= X_BOX:  # identity: numbered when it starts
            shell = (
                Closure.__new__(Closure) if code == X_CLO
                else Continuation.__new__(Continuation) if code == X_CONT
                else Ref(None) if code == X_CELL
                else Box(None)
            )  # fmt: skip
            self.built.append(shell)
        d = self.depth + 1
        if d > MAX_NEST:
            raise corrupt("deserialize: data nested too deeply")
        self.depth = d
        p = (DECODE or self.decode_py)(data, 0, self.hook, self.list_hook(), False)
        self.depth = d - 1
        if code == X_CELL or code == X_BOX:
            shell.value = p
            return shell
        if p.__class__ is not TVector or (self.arefs and self.arrays[-1] is not p):
            raise corrupt("deserialize: malformed value")
        if code == X_VEC:
            return p
        if code == X_CONT:
            return self.continuation(shell, p.items)
        items = p.items
        if code == X_CLO:
            ci = items[0] if items else None
            c = self.infos[ci][5] if ci.__class__ is int and -len(self.infos) <= ci < len(self.infos) else None
            if c is None or len(items) - 1 != len(c.free_names) or c.symbol in special_frames():
                raise corrupt("deserialize: malformed closure")
            shell.code = c
            shell.env = tuple(items[1:])
            return shell
        if code == X_MAP:
            v: Any = self.map(items)
        elif code == X_CUSTOM or code == X_RESOURCE:
            if len(items) != 2:
                raise corrupt("deserialize: malformed custom value")
            v = load_hook(self.rt, code == X_RESOURCE, items[0], items[1])
        elif code == X_STRUCT:
            if not items or items[0].__class__ is not str:
                raise corrupt("deserialize: malformed struct")
            t = struct_type(self.rt, items[0])
            if len(items) - 1 != len(t.fields):
                raise errors.err(errors.SCHEMA_MISMATCH, t.qualified, self.prog)
            v = Struct(t, tuple(items[1:]))
        else:
            v = tlist(items)
        if self.arefs:
            self.arrays[-1] = v  # the value takes its payload's number
        return v

    @staticmethod
    def map(flat: list[Any]) -> TMap:
        if len(flat) % 2:
            raise corrupt("deserialize: map with a key but no value")
        keys = flat[::2]
        if bool in map(type, keys):  # boolean keys are kept apart from 1 and 0
            keys = [mkey(k) for k in keys]
        try:
            return TMap(dict(zip(keys, flat[1::2])))
        except TypeError:
            raise corrupt("deserialize: unhashable map key") from None

    def continuation(self, k: Continuation, p: list[Any]) -> Continuation:
        """Fill `k` from its payload: frames laid end to end, then `resumable`.

        (A negative code index counts from the end of the code table, like Python's: it
        still names code of this table, so it cannot do harm.)"""
        infos = self.infos
        if not self.arefs:  # one plain frame is the commonest continuation: no loop, no copy
            try:
                fn, clo, size, nblocks, kind, _ = infos[p[0]]
                pc = p[1]
                single = (
                    len(p) == size + 1
                    and not kind
                    and p[3] is None
                    and pc.__class__ is int
                    and 0 <= pc < nblocks
                    and p[2] == size - 4
                    and p[-1].__class__ is bool
                )
            except (IndexError, TypeError):
                single = False
            if single:
                k.resumable = p.pop()
                p[0] = fn
                p[2] = None
                p[3] = clo
                k.frames = (p,)  # the payload list is the frame: no AREF can reach it
                return k
        resumable = p.pop() if p else None
        if resumable.__class__ is not bool:
            raise corrupt("deserialize: malformed continuation")
        end = len(p)
        frames = []
        j = 0
        while j < end:
            try:
                fn, clo, size, nblocks, kind, code = infos[p[j]]
            except (IndexError, TypeError):
                raise corrupt(f"deserialize: bad code index {p[j]!r} in a frame") from None
            rec = p[j : j + size]
            j += size
            pc = rec[1] if j <= end else None
            if pc.__class__ is not int or not 0 <= pc < nblocks or rec[2] != size - 4:
                raise corrupt(f"deserialize: frame of {code.symbol} does not fit its code")
            rec[0] = fn
            rec[2] = None
            if rec[3] is None:
                rec[3] = clo
            elif rec[3].__class__ is not Closure or kind:
                raise corrupt(f"deserialize: frame of {code.symbol} has a bad closure")
            else:
                self.checks.append((rec[3], code))
            if kind == HANDLER_FRAME and rec[4].__class__ not in (Closure, Builtin):
                raise corrupt(f"deserialize: the handler of a {code.symbol} frame is not a function")
            frames.append(rec)
        k.frames = tuple(frames)
        k.resumable = resumable
        return k

    def code_table(self, head: bytes) -> None:
        """Make the code table of `head` (magic, kind, length and header) the current one:
        from the cache when each of its symbols still names the same code, which is certain
        while the runtime has registered no code since it was last checked."""
        hit = self.heads.get(head)
        gen = self.rt.code_generation
        if hit is not None and hit[4] != gen:
            codes = self.codes
            for sym, code in hit[2]:
                if codes.get(sym) is not code:
                    hit = None
                    break
            else:
                hit[4] = gen
        if hit is None:
            if len(head) < 9:
                raise corrupt("deserialize: truncated data")
            prog, infos, plain = _resolve(self.rt, head[9:])
            hit = [prog, infos, plain, head, gen]
            if len(self.heads) >= 256:
                self.heads.clear()
            self.heads[head] = hit
        self.hit = hit
        self.prog, self.infos = hit[0], hit[1]

    def list_hook(self) -> Any:
        """What each array becomes: a vector, numbered when the body has AREFs."""
        return self.numbered if self.arefs else TVector

    def decode_py(self, data: bytes, pos: int, hook: Any, list_hook: Any, root_list: bool) -> Any:
        """`DECODE` done by msgpack's Unpacker, for where the C decoder was not built. (The
        unpacker for this size and level already has the reader's hooks.)"""
        if len(data) <= 4096 and not self.depth and not self.arefs:
            up = self.top  # the usual: a small body
        else:
            up = self.unpacker(len(data) - pos, self.depth)
        up.feed(data)
        if pos:
            up.read_bytes(pos)
        v = up.unpack()
        if up.read_bytes(1):
            raise corrupt("deserialize: extra bytes after the value")
        return v.items if root_list and v.__class__ is TVector else v

    def body_start(self, data: bytes, kind: int) -> int:
        """Where the body of `data` starts, once its code table is the current one (when
        the last read's table is not)."""
        if kind > 3:
            raise corrupt(f"deserialize: unknown kind {kind}")
        self.code_table(data[: 9 + U32.unpack_from(data, 5)[0]])
        return len(self.hit[3])

    def read(self, data: bytes) -> Any:
        """The value of `data`: the body is one decode call, which runs `hook` for each
        extension value."""
        kind = data[4]  # IndexError when too short: corrupt
        hit = self.hit  # the last read's code table: the next one is usually the same
        if hit is not None and hit[4] == self.rt.code_generation and data.startswith(hit[3]):
            pos = len(hit[3])
        else:
            pos = self.body_start(data, kind)
        decode = DECODE or self.decode_py
        arefs = kind >> 1
        if arefs:
            self.arefs = arefs  # back to 0 in `finish`
        if kind & K_CONT:
            v: Any = _new(Continuation)
            self.built.append(v)
            if arefs:  # the payload array is numbered too: it stays a vector
                p = decode(data, pos, self.hook, self.numbered, False)
                p = p.items if p.__class__ is TVector else None
            else:
                p = decode(data, pos, self.hook, TVector, True)
            if p.__class__ is not list:
                raise corrupt("deserialize: malformed continuation")
            if arefs or DECODE is None or not _fill(v, p, self.infos):
                self.continuation(v, p)  # not only plain frames (or no C): Python reads them
        else:
            v = decode(data, pos, self.hook, self.list_hook(), False)
        if self.checks or arefs:
            return self.finish(v)
        self.built.clear()
        return v

    def finish(self, v: Any) -> Any:
        """`v`, once the closures of frames are known right; the reader made ready again."""
        if self.checks:
            for clo, code in self.checks:
                if getattr(clo, "code", None) is not code:
                    raise corrupt(f"deserialize: frame of {code.symbol} has a closure of other code")
            self.checks.clear()
        self.built.clear()
        if self.arefs:
            self.arrays.clear()
            self.arefs = 0
        return v


def read(rt: Any, data: bytes) -> Any:
    """Rebuild a value from format-2 bytes (`data` starts with MAGIC)."""
    r: _Reader | None = rt.__dict__.get("_format2_reader")
    if r is None:
        r = rt._format2_reader = _Reader(rt)
    elif r.busy:  # a load hook deserializes during this read: it gets a reader of its own
        r = _Reader(rt)
    r.busy = True
    try:
        v = r.read(data)
    except TurmericError:
        r.drop()
        raise
    except Exception as e:  # msgpack's own errors, a bad index, a wrong type...
        r.drop()
        raise corrupt(f"deserialize: malformed data ({type(e).__name__}: {e})") from None
    r.busy = False
    if len(data) >= 1 << 20:  # keep only readers whose buffers are small
        r.drop()
    return v
