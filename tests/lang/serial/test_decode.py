"""The optional C decoder of format 2 (tmweb/lang/serial/_decode.c).

The reader uses it whenever it is built, so `decode` must read what msgpack's Unpacker reads
with the reader's options and refuse what it refuses, and `fill` must build the frames
`_Reader.continuation` builds, or return False having touched nothing. Without the extension
these tests skip loudly, except on CI (CI=true), where they fail.
"""

from __future__ import annotations

import operator
import os
import struct
import sys
import tracemalloc
from typing import Any, NamedTuple

import msgpack
import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st
from msgpack import ExtType, Timestamp

from tmweb.lang import Runtime, serial
from tmweb.lang.code import Continuation
from tmweb.lang.serial import format2_read
from tmweb.lang.values import TVector

try:
    from tmweb.lang.serial import _decode
except ImportError as e:  # pragma: no cover - the environment decides
    _decode = None  # type: ignore[assignment]
    _WHY = f"tmweb.lang.serial._decode is NOT BUILT ({e}), the C decoder is UNTESTED: pip install -e ."
else:
    _WHY = ""


@pytest.fixture(autouse=True)
def _c_decoder(request: pytest.FixtureRequest) -> None:
    """Skip without the extension, but fail on CI, which must test the C decoder."""
    if _decode is None and request.node.name != "test_the_c_decoder_is_built":
        if os.environ.get("CI") == "true":
            pytest.fail(_WHY)
        pytest.skip(_WHY)


def test_the_c_decoder_is_built() -> None:
    """The reader uses the C decoder whenever it is built: CI must build it."""
    if _decode is None and os.environ.get("CI") != "true":
        pytest.skip(_WHY)
    assert _decode is not None, _WHY
    assert format2_read._decode is _decode and format2_read._fill is _decode.fill


class Boom(Exception):
    """Raised by test hooks: must come out of decode unchanged."""


class Ext(NamedTuple):
    """An extension value of any code (msgpack's ExtType refuses codes below 0)."""

    code: int
    data: bytes


def pack(v: Any, single: bool = False) -> bytes:
    """msgpack.packb(v, use_bin_type=True), except that Ext values of any code are written."""
    if v.__class__ is list:
        return msgpack.Packer().pack_array_header(len(v)) + b"".join(pack(x, single) for x in v)
    if v.__class__ is Ext:
        packer = msgpack.Packer(autoreset=False)
        packer.pack_ext_type(v.code, v.data)
        return packer.bytes()
    return msgpack.packb(v, use_bin_type=True, use_single_float=single)


def unpack(data: bytes, ext_hook: Any, list_hook: Any) -> Any:
    """msgpack's answer, with the reader's options (max_array_len as in `_Reader.unpacker`)."""
    up = msgpack.Unpacker(
        ext_hook=ext_hook, list_hook=list_hook, raw=False, max_map_len=0, timestamp=1,
        object_pairs_hook=format2_read._no_map, max_array_len=len(data),
    )  # fmt: skip  (max_map_len=0 lets an empty map through: _no_map refuses it too)
    up.feed(data)
    v = up.unpack()
    if up.read_bytes(1):
        raise ValueError("extra bytes")
    return v


def norm(x: Any) -> Any:
    """Comparable: vectors tagged (and checked whole), floats by bit pattern, types kept."""
    if x.__class__ is TVector:
        assert x.items.__class__ is list and x.n == len(x.items)
        return ("V", [norm(y) for y in x.items])
    if x.__class__ in (list, tuple):
        return x.__class__(norm(y) for y in x)
    return ("F", struct.pack(">d", x)) if x.__class__ is float else (x.__class__.__name__, x)


class Log:
    """Hooks that record their calls, so the call order is compared too."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def ext(self, code: int, data: bytes) -> Any:
        self.calls.append(("ext", code, data))
        return ("X", code, data)

    def lst(self, items: list[Any]) -> Any:
        self.calls.append(("list", norm(items)))
        return ("L", items)


HOOKS = ["vector", "none", "log"]


def agree(data: bytes, pos: int = 0, hooks: str = "vector", root_list: bool = False) -> bool:
    """Whether both read a value: the same value after the same hook calls; or both raise."""
    c, m = Log(), Log()
    lh = {"vector": (TVector, TVector), "none": (None, None), "log": (c.lst, m.lst)}[hooks]
    try:
        got = _decode.decode(data, pos, c.ext, lh[0], root_list)
    except ValueError as e:  # anything else fails the test
        got = e
    try:
        want = unpack(data[pos:], m.ext, lh[1])
    except Exception as e:
        assert isinstance(got, ValueError), f"msgpack raised {e!r}, decode gave {got!r}"
        return False
    assert not isinstance(got, Exception), f"decode raised {got!r}, msgpack gave {want!r}"
    if root_list and (data[pos] >> 4 == 9 or data[pos] in (0xDC, 0xDD)):  # outermost array
        assert got.__class__ is list
        if hooks == "vector":  # list_hook was not called for it
            want = want.items
        elif hooks == "log":
            m.calls.pop()
            want = want[1]
    assert norm(got) == norm(want) and c.calls == m.calls
    return True


# ------------------------------------------------------------------------------ decode

EVERY_ENCODING = [
    0, 127, -1, -32, -33, -128, -129, 128, 255, 256, 65535, 65536, -32768, -32769, 2**31 - 1,
    -(2**31), -(2**31) - 1, 2**32 - 1, 2**32, 2**63 - 1, -(2**63), 2**64 - 1, 1.5, -0.0,
    float("inf"), None, True, False, "", "a" * 31, "a" * 32, "é" * 200, "x" * 70000, b"",
    b"x" * 256, b"x" * 70000, [], [1] * 15, [1] * 16, [0] * 70000, [[], [[]], [1, [2, []]]],
    *(Ext(c, b"y" * n) for c in (5, -5, -128, 127) for n in (0, 1, 2, 3, 4, 8, 16, 256, 70000)),
    *(Ext(-1, Timestamp(s, ns).to_bytes()) for s, ns in [(5, 0), (5, 1), (-5, 1), (2**40, 7)]),
]  # fmt: skip


@pytest.mark.parametrize("hooks", HOOKS)
@pytest.mark.parametrize("single", [False, True])
def test_every_encoding_reads_as_msgpack_reads_it(hooks: str, single: bool) -> None:
    """Each type byte and size class, with each kind of list hook; checks `pack` too."""
    for v in EVERY_ENCODING:
        if v.__class__ is not Ext:
            assert pack(v, single) == msgpack.packb(v, use_bin_type=True, use_single_float=single)
        elif v.code >= 0:
            assert pack(v) == msgpack.packb(ExtType(*v))
        assert agree(pack(v, single), hooks=hooks)


def test_timestamps_become_floats() -> None:
    """msgpack's timestamp extension (4, 8 and 12 bytes) is Timestamp.to_unix(), no hook."""
    hook = Log()
    for sec, ns in [(5, 0), (5, 1), (2**34 - 1, 999_999_999), (-5, 1), (2**40, 7)]:
        data = pack(Ext(-1, Timestamp(sec, ns).to_bytes()))
        assert _decode.decode(data, 0, hook.ext, None, False) == Timestamp(sec, ns).to_unix()
    assert hook.calls == []


REFUSED = {
    "fixmap": b"\x80", "map": b"\x81\x01\x02", "map16": b"\xde\x00\x00",
    "map32": b"\xdf\x00\x00\x00\x00", "map in array": b"\x92\x01\x80", "0xc1": b"\xc1",
    "empty": b"", "extra": b"\x01\x02", "extra after array": b"\x91\x01\x01",
    "cut int": b"\xcd\x01", "cut str": b"\xa3ab", "cut array": b"\x93\x01\x02",
    "cut ext": b"\xc7\x05\x01ab", "cut header": b"\xdd\x00", "cut fixext code": b"\xd4",
    "array32 claims 2**32-1": b"\xdd\xff\xff\xff\xff\x01", "bad utf-8": b"\xa2\xff\xfe",
    "utf-8 surrogate": b"\xa3\xed\xa0\x80", "timestamp of 2 bytes": b"\xd5\xff\x00\x00",
    "timestamp of 16": b"\xd8\xff" + bytes(16),
    "8-byte ns >= 1e9": b"\xd7\xff" + (10**9 << 34 | 5).to_bytes(8, "big"),
    "12-byte ns >= 1e9": b"\xc7\x0c\xff" + (10**9).to_bytes(4, "big") + bytes(8),
}  # fmt: skip


@pytest.mark.parametrize("data", REFUSED.values(), ids=REFUSED.keys())
def test_malformed_data_is_a_value_error(data: bytes) -> None:
    """The reader turns ValueError into corrupt-data; msgpack refuses the same."""
    with pytest.raises(ValueError):
        _decode.decode(data, 0, Log().ext, TVector, False)
    assert not agree(data)


@pytest.mark.parametrize("depth", [1, 31, 32, 33, 34, 1023, 1024, 1025, 1026, 5000])
@pytest.mark.parametrize("empty", [False, True], ids=["one item", "empty"])
def test_arrays_nest_1024_deep_at_most(depth: int, empty: bool) -> None:
    """On both sides of the 32 levels on the C stack, and of msgpack's limit (which counts
    an empty array too)."""
    data = b"\x91" * (depth - 1) + (b"\x90" if empty else b"\x91\x07")
    if depth > 1024:
        with pytest.raises(ValueError):
            unpack(data, None, None)
        with pytest.raises(ValueError, match="nested too deeply"):
            _decode.decode(data, 0, None, TVector, False)
        return
    v = _decode.decode(b"\xc1" + data, 1, None, TVector, False)
    for _ in range(depth - 1):
        assert v.__class__ is TVector and v.n == 1 and v.items.__class__ is list
        v = v.items[0]
    assert v.__class__ is TVector and v.items == ([] if empty else [7])
    unpack(data, None, None)  # msgpack reads it too


def test_lists_and_vectors() -> None:
    """TVector is built without a call; a subclass, or any hook, is called post-order;
    root_list keeps the outermost array a list; list_hook=None keeps lists."""
    data = pack([[1, [2]], [], [3]])
    v = _decode.decode(data, 0, None, TVector, False)
    assert v.__class__ is TVector and v.items[0].items[1].items == [2]

    class MyVec(TVector):
        __slots__ = ()

    assert _decode.decode(data, 0, None, MyVec, False).items[2].__class__ is MyVec
    seen = Log()
    got = _decode.decode(data, 0, None, seen.lst, True)
    assert got.__class__ is list and got[1] == ("L", [])
    assert [c[1] for c in seen.calls] == [
        [("int", 2)], [("int", 1), (("str", "L"), [("int", 2)])], [], [("int", 3)]
    ]  # fmt: skip
    assert _decode.decode(data, 0, None, None, False) == [[1, [2]], [], [3]]
    assert _decode.decode(b"\x90", 0, None, TVector, True) == []
    assert _decode.decode(b"\xdd\x00\x00\x00\x02\x01\x02", 0, None, None, True) == [1, 2]
    assert agree(data, hooks="log", root_list=True)


def test_decode_starts_at_pos() -> None:
    """Bytes before `pos` are not read; pos outside the data is a ValueError."""
    data = b"\xc1\x80\xdd" + pack([1, "é", [b"x"]])
    assert _decode.decode(data, 3, None, None, False) == [1, "é", [b"x"]]
    for pos, why in [(-1, "out of range"), (len(data) + 1, "out of range"), (len(data), "trunc")]:
        with pytest.raises(ValueError, match=why):
            _decode.decode(data, pos, None, None, False)


@pytest.mark.parametrize(
    "fn, args",
    [("decode", ()), ("decode", (b"\x01", 0, None, None)), ("decode", (b"\x01", 0, 0, 0, 0, 0)),
     ("decode", (bytearray(b"\x01"), 0, None, None, False)), ("decode", ("\x01", 0, 0, 0, 0)),
     ("decode", (b"\x01", 0.0, None, None, False)), ("decode", (b"\x01", "0", 0, 0, 0)),
     ("fill", ()), ("fill", (None, [])), ("fill", (None, [], [], [])), ("set_vector_type", (1,))],
)  # fmt: skip
def test_wrong_arguments_are_type_errors(fn: str, args: tuple[Any, ...]) -> None:
    """Only the reader calls these, but a slip must not read memory it should not."""
    with pytest.raises(TypeError):
        getattr(_decode, fn)(*args)


@pytest.mark.parametrize("depth", [3, 40])
@pytest.mark.parametrize("where", ["ext", "list"])
def test_a_hook_error_propagates_and_nothing_leaks(depth: int, where: str) -> None:
    """A hook's own exception comes out as it is, 10,000 times over, and all that the failed
    decode made (references, lists, its heap stack beyond 32 levels) is freed."""
    token, raised = object(), []

    def ext_hook(code: int, data: bytes) -> Any:
        if code == 2 and where == "ext":
            raised.append(Boom(code))  # a fresh one: a raised one grows its traceback
            raise raised[-1]
        return token

    def list_hook(items: list[Any]) -> Any:
        if where == "list" and len(items) == 3 and items[1] is token:
            raised.append(Boom(items))
            raise raised[-1]
        return TVector(items)

    inner: Any = [Ext(1, b""), Ext(2, b""), Ext(1, b"")]
    for _ in range(depth):
        inner = [Ext(1, b""), [Ext(1, b"")], inner, Ext(1, b"")]  # a finished array first
    data, refs = pack(inner), sys.getrefcount(token)
    lh = list_hook if where == "list" else TVector  # what was built: by a call, or in C
    tracemalloc.start()
    try:
        for i in range(10_000):
            if i == 100:
                before = tracemalloc.get_traced_memory()[0]
            try:  # not pytest.raises: it keeps the last traceback, and the lists in it
                _decode.decode(data, 0, ext_hook, lh, False)
            except Boom as e:
                assert e is raised.pop()
            else:
                pytest.fail("no exception")
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 50_000, f"{grown} bytes kept by 9,900 failed decodes"
    assert sys.getrefcount(token) == refs
    assert _decode.decode(data, 0, lambda c, d: c, None, False)[0] == 1  # still works


# ---------------------------------------------------------------------------- property

_EXT = st.one_of(st.binary(max_size=20), *(st.binary(min_size=n, max_size=n) for n in (4, 8, 12)))
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats()
    | st.text(max_size=40) | st.binary(max_size=40) | st.builds(Ext, st.just(-1), _EXT)
    | st.builds(Ext, st.integers(-128, 127), st.binary(max_size=20)),
    lambda c: st.lists(c, max_size=6), max_leaves=30,
)  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A packing with a few bytes changed, inserted, deleted, or its end cut off."""
    d = pack(draw(VALUES))
    for _ in range(draw(st.integers(1, 3))):
        i, b = draw(st.integers(0, len(d))), bytes([draw(st.integers(0, 255))])
        head, tail = d[:i], d[i:]
        d = draw(st.sampled_from([head + b + tail[1:], head + b + tail, head + tail[1:], head]))
    return d


@settings(max_examples=examples(2), deadline=None, database=None)
@given(VALUES, st.sampled_from(HOOKS), st.booleans(), st.binary(max_size=3), st.booleans())
def test_decode_agrees_with_msgpack(v: Any, hooks: str, root: bool, pre: bytes, f32: bool) -> None:
    """Random values of every kind, read after a random prefix, with 32- or 64-bit floats."""
    try:
        data = pack(v, f32)
    except OverflowError:  # a float too big for 32 bits
        data = pack(v)
    agree(pre + data, len(pre), hooks, root)


@settings(max_examples=examples(2), deadline=None, database=None)
@given(st.one_of(st.binary(max_size=40), mutated()), st.sampled_from(HOOKS), st.booleans())
def test_decode_agrees_with_msgpack_on_bad_bytes(data: bytes, hooks: str, root: bool) -> None:
    """Random and damaged bytes: the same refusals, and the same values when read."""
    agree(data, 0, hooks, root)


# -------------------------------------------------------------------------------- fill

SRC = """
(defn f [n] (let [a n b [n 1]] (if (= n 0) (cloneable-shift [k] k) (+ a (f (- n 1))))))
(defn cap [d] (cloneable-reset (fn [] (f d))))
(defn clo [x] (cloneable-reset (fn [] (let [h (fn [y] (+ x y (cloneable-shift [k] k)))]
                                          (+ 1 (h 2))))))
(defn tried [] (cloneable-reset (fn [] (+ 2 (try (+ 1 (cloneable-shift [k] k)) (catch [e] e))))))
"""


class Captured:
    """A real continuation, its format-2 bytes, and a reader holding their code table."""

    def __init__(self, rt: Runtime, k: Continuation) -> None:
        self.rt, self.k, self.data = rt, k, serial.serialize(rt, k)
        self.start = 9 + int.from_bytes(self.data[5:9], "big")
        self.reader = format2_read._Reader(rt)
        self.reader.code_table(self.data[: self.start])
        self.infos = self.reader.infos

    def payload(self) -> list[Any]:
        """A fresh payload, decoded as `_Reader.read` decodes it."""
        return _decode.decode(self.data, self.start, self.reader.hook, TVector, True)


@pytest.fixture(scope="module")
def caps() -> dict[str, Captured]:
    rt = Runtime()
    m = rt.module("t")
    rt.eval_text(SRC, m, "t.tm")
    calls = {"one": ("cap", 1), "three": ("cap", 3), "none": ("cap", 0), "closure": ("clo", 10),
             "try": ("tried",)}  # fmt: skip
    return {k: Captured(rt, rt.machine.apply(m.cells[f].value, a)) for k, (f, *a) in calls.items()}


@pytest.mark.parametrize("name", ["one", "three"])
@pytest.mark.parametrize("resumable", [True, False])
@pytest.mark.parametrize("negative", [False, True], ids=["index", "negative index"])
def test_fill_builds_the_frames_python_builds(
    caps: dict[str, Captured], name: str, resumable: bool, negative: bool
) -> None:
    """Plain frames only: fn, pc, no parent, the code's closure, the very slot objects."""
    c = caps[name]
    p = c.payload()
    p[-1] = resumable
    for j in range(0, len(p) - 1, c.infos[0][2]) if negative else ():  # all frames of t.f
        p[j] -= len(c.infos)  # counts from the end, like Python
    want = c.reader.continuation(object.__new__(Continuation), list(p))
    k = object.__new__(Continuation)
    assert _decode.fill(k, p, c.infos) is True
    assert k.resumable is resumable and len(k.frames) == len(want.frames) == len(c.k.frames)
    for a, b in zip(k.frames, want.frames):
        assert a.__class__ is list and len(a) == len(b) and a[1].__class__ is int
        assert a[0] is b[0] and a[1] == b[1] and a[2] is None is b[2] and a[3] is b[3]
        assert all(x is y for x, y in zip(a[4:], b[4:]))
    if name == "one":  # the payload itself, its trailing bool gone
        assert k.frames[0] is p and len(p) == c.infos[0][2]
    else:
        assert all(f is not p for f in k.frames) and len({id(f) for f in k.frames}) == 3


@pytest.mark.parametrize("name", ["one", "three", "none", "closure", "try"])
def test_a_read_continuation_resumes_as_the_original(caps: dict[str, Captured], name: str) -> None:
    """Filled by C, or refused by it and read by Python, it computes the same answer."""
    c = caps[name]
    want = c.rt.machine.apply(c.k, (7,))
    if name in ("one", "three"):
        k = object.__new__(Continuation)
        assert _decode.fill(k, c.payload(), c.infos) is True
        assert c.rt.machine.apply(k, (7,)) == want
    assert c.rt.machine.apply(serial.deserialize(c.rt, c.data), (7,)) == want


_CLO = object()  # stands for the frame's own closure: the one fill would set


def _entry(infos: list[Any], at: int, x: Any) -> list[Any]:
    """The code table with item `at` of its first entry set to `x`."""
    return [infos[0][:at] + (x,) + infos[0][at + 1 :], *infos[1:]]


# (capture, its payload's item to set, or ("entry", k) of the code table, the new value;
#  or a function making the payload and code table, and a name)
EDITS = [
    ("closure", None, None), ("try", None, None), ("none", None, None),  # as they come
    ("one", 3, _CLO), ("three", 19, _CLO),  # a closure of its own, in the first or last frame
    ("one", 0, 1), ("one", 0, -2), ("one", 0, 2**70), ("one", 0, False), ("one", 0, 0.0),
    ("one", 0, "0"), ("three", 16, 1),  # code index
    ("one", 1, 2), ("one", 1, -1), ("one", 1, True), ("one", 1, 1.0), ("one", 1, 2**64),
    ("three", 17, 2),  # pc
    ("one", 2, 5), ("one", 2, 3), ("one", 2, 4.0), ("three", 10, 3),  # slot count
    ("one", -1, 1), ("one", -1, None), ("three", -1, 0),  # resumable
    ("one", ("entry", 4), 1), ("three", ("entry", 4), 2), ("one", ("entry", 4), True),  # kind
    ("one", ("entry", 2), 8.0), ("one", ("entry", 2), 7), ("three", ("entry", 2), 2**70),  # size
    ("one", ("entry", 3), 2.0),  # blocks
    ("one", lambda p, i: (p[:-2] + p[-1:], i), "a slot missing"),
    ("three", lambda p, i: (p[:12] + p[13:], i), "a slot missing in the middle"),
    ("one", lambda p, i: (p[:-1] + [0] + p[-1:], i), "an item too many"),
    ("three", lambda p, i: (p[:-1] + p[:4] + p[-1:], i), "a frame too short"),
    ("one", lambda p, i: ([], i), "empty"), ("one", lambda p, i: ([True], i), "just [True]"),
    ("one", lambda p, i: (tuple(p), i), "a tuple"), ("one", lambda p, i: (TVector(p), i), "vector"),
    ("one", lambda p, i: (p, tuple(i)), "table a tuple"), ("one", lambda p, i: (p, []), "no table"),
    ("one", lambda p, i: (p, [list(i[0])]), "entry a list"),
    ("one", lambda p, i: (p, [i[0][:5]]), "entry of 5"),
]  # fmt: skip


def _refused(p: Any, infos: Any) -> None:
    """False, with k and p as they were: the reader's Python reads (or refuses) p instead."""
    items = p.items if p.__class__ is TVector else p
    before, k = list(items), object.__new__(Continuation)
    assert _decode.fill(k, p, infos) is False
    assert not hasattr(k, "frames") and not hasattr(k, "resumable")
    assert len(items) == len(before) and all(x is y for x, y in zip(items, before))


@pytest.mark.parametrize("name, at, x", EDITS)
def test_fill_refuses_what_is_not_a_plain_frame(
    caps: dict[str, Captured], name: str, at: Any, x: Any
) -> None:
    """Each field of each frame is checked before anything changes; frames must end just
    before the last item; other types and code tables."""
    p, infos = caps[name].payload(), caps[name].infos
    if callable(at):
        p, infos = at(p, infos)
    elif at.__class__ is tuple:
        infos = _entry(infos, at[1], x)
    elif at is not None:
        p[at] = infos[0][1] if x is _CLO else x
    _refused(p, infos)


def test_fill_refuses_a_kind_too_big_for_a_c_long(caps: dict[str, Captured]) -> None:
    """A `kind` too big for C is refused with no exception left set (one was: a
    SystemError, or a stray OverflowError at some later operation where CPython
    specialises the call; operator.call makes it the SystemError)."""
    k, p, infos = object.__new__(Continuation), caps["one"].payload(), caps["one"].infos
    assert operator.call(_decode.fill, k, p, _entry(infos, 4, 2**70)) is False
