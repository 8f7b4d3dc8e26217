"""The two serialization formats, byte by byte (SPEC 1.5; docs/decisions.md).

`serialize` writes format 2 (format2_write.py) and falls back to format 1 (format1_write.py)
where format 2 cannot be used; `deserialize` reads both. test_serialize.py runs every
behaviour through both; this file checks what is particular to each format: how the writer
chooses, hand-built and tampered bytes of each, the code-table cache and the C stack
(test_layout.py checks what `tmweb inspect` shows of them).
"""

from __future__ import annotations

import itertools
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgpack
import pytest
from msgpack import ExtType

from tmweb.lang import Runtime, TurmericError, pr_str, register_python, serial
from tmweb.lang.code import Closure, Continuation
from tmweb.lang.serial import common, format1_write, format2_read, format2_write
from tmweb.lang.values import TVector

_fresh = itertools.count(1)


def ev(rt: Runtime, src: str) -> Any:
    return rt.eval_text(src, rt.module(f"t_fmt_{next(_fresh)}"))


def kind(e: TurmericError) -> str | None:
    return getattr(getattr(e.value, "type", None), "name", None)


def load_error(rt: Runtime, data: Any) -> TurmericError:
    with pytest.raises(TurmericError) as info:
        serial.deserialize(rt, data)
    return info.value


def call(rt: Runtime, f: Any, *args: Any) -> Any:
    return rt.machine.apply(f, args)


def _tm_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


SAMPLE = """
(defn sample-f [a]
  (let [r (ref [a :kw "s"]) g (fn [x] (+ x a)) v [a [a] {:a a}]]
    (+ (g 1) (first (deref r)) (cloneable-shift [k] k))))
(cloneable-reset (fn [] (sample-f 3)))
"""


@pytest.fixture(scope="module")
def k(rt: Runtime) -> Continuation:
    """A continuation with locals, a closure, a ref, nested vectors and a map."""
    return ev(rt, SAMPLE)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------- which format


def test_a_continuation_is_written_in_format_2(rt: Runtime, k: Continuation) -> None:
    data = serial.serialize(rt, k)
    assert serial.format_of(data) == format2_write.FORMAT and data.startswith(format2_write.MAGIC)
    assert data[4] & format2_write.K_CONT
    back = serial.deserialize(rt, data)
    assert call(rt, back, 10) == call(rt, k, 10)


def test_format_1_bytes_still_load(rt: Runtime, k: Continuation) -> None:
    data = serial.serialize_format1(rt, k)
    assert serial.format_of(data) == format1_write.FORMAT and data.startswith(format1_write.MAGIC)
    assert call(rt, serial.deserialize(rt, data), 10) == call(rt, k, 10)


VALUES = [
    "nil", "1", "2.5", '"s"', ":k", "'sym", "(list 1 [2] {:a 3})", "[1 [2 [3 [4]]] :x]",
    '{:a {:b [1 2]} "s" #t 1 #f #t 1}', "(Some (Some [1 (None)]))", '(error "e")',
    "(ref [1 2])", str(2**100), "inc", "(fn [x] x)", "{[1 2] :vec-key}",
]  # fmt: skip


@pytest.mark.parametrize("src", VALUES)
def test_both_formats_load_to_the_same_value(rt: Runtime, src: str) -> None:
    v = ev(rt, src)
    data2, data1 = serial.serialize(rt, v), serial.serialize_format1(rt, v)
    assert serial.format_of(data2) == format2_write.FORMAT
    assert pr_str(serial.deserialize(rt, data2)) == pr_str(serial.deserialize(rt, data1)) == pr_str(v)


def nested(rt: Runtime, depth: int) -> Any:
    """Vectors nested `depth` deep, each holding a keyword and the next one."""
    return ev(rt, f"(loop [i 0 acc [:end]] (if (= i {depth}) acc (recur (inc i) [:v acc])))")


def test_nesting_up_to_the_limit_stays_in_format_2(rt: Runtime) -> None:
    v = nested(rt, format2_write.MAX_NEST)
    data = serial.serialize(rt, v)
    assert serial.format_of(data) == format2_write.FORMAT
    assert pr_str(serial.deserialize(rt, data)) == pr_str(v)


def test_deeper_nesting_falls_back_to_format_1(rt: Runtime) -> None:
    v = nested(rt, format2_write.MAX_NEST + 1)
    data = serial.serialize(rt, v)
    assert serial.format_of(data) == format1_write.FORMAT
    assert pr_str(serial.deserialize(rt, data)) == pr_str(v)


def test_a_cycle_through_a_ref_stays_in_format_2(rt: Runtime) -> None:
    r = ev(rt, "(def r (ref nil)) (ref-set! r [1 r]) r")
    data = serial.serialize(rt, r)
    assert serial.format_of(data) == format2_write.FORMAT
    w = serial.deserialize(rt, data)
    assert w.value.items[1] is w


def test_a_cycle_through_a_vector_falls_back_to_format_1(rt: Runtime) -> None:
    v = ev(rt, "(def r (ref nil)) (def v [1 r]) (ref-set! r v) v")
    data = serial.serialize(rt, v)
    assert serial.format_of(data) == format1_write.FORMAT
    w = serial.deserialize(rt, data)
    # the cycle through the ref is kept; the vector comes back as two equal vectors
    r2 = w.items[1]
    assert r2.value.items[1] is r2 and r2.value.items[0] == 1


def test_shared_vectors_are_numbered_arrays(rt: Runtime) -> None:
    v = ev(rt, "(def inner [1 2]) (def m {:a inner}) [inner m inner [inner]]")
    data = serial.serialize(rt, v)
    assert serial.format_of(data) == format2_write.FORMAT and data[4] & format2_write.K_AREFS
    w = serial.deserialize(rt, data)
    inner = w.items[0]
    assert w.items[2] is inner and w.items[1].get(rt.eval_text(":a", rt.module("kw"))) is inner
    assert w.items[3].items[0] is inner


def test_unshared_values_do_not_number_arrays(rt: Runtime, k: Continuation) -> None:
    assert not serial.serialize(rt, k)[4] & format2_write.K_AREFS


def test_an_instance_for_a_struct_is_written_in_format_2() -> None:
    r = Runtime()
    v = r.eval_text(
        "(struct pt [x y]) (instance Serializable pt (serialize [p] [p.x p.y]) "
        "(deserialize [v] (pt (first v) (second v)))) (def p (pt 1 2)) [p p]",
        r.module("hooked"),
    )
    data = serial.serialize(r, v)
    assert serial.format_of(data) == format2_write.FORMAT and b"hooked.pt" in data
    w = serial.deserialize(r, data)
    assert pr_str(w) == "[(pt 1 2) (pt 1 2)]" and w.items[0] is w.items[1]


def test_an_instance_for_a_native_type_makes_serialize_write_format_1() -> None:
    r = Runtime()
    v = r.eval_text(
        '(instance Serializable int64 (serialize [n] (str n)) (deserialize [s] (count s))) [7 "a"]',
        r.module("hooked_int"),
    )
    data = serial.serialize(r, v)
    assert serial.format_of(data) == format1_write.FORMAT  # msgpack writes ints itself: format 2 cannot hook them
    assert pr_str(serial.deserialize(r, data)) == '[1 "a"]'


def test_an_instance_returning_its_argument_falls_back_to_format_1() -> None:
    r = Runtime()
    v = r.eval_text(
        "(struct same [x]) (instance Serializable same (serialize [s] s) (deserialize [s] s)) "
        "[(same 1)]",
        r.module("hooked_same"),
    )
    data = serial.serialize(r, v)
    assert serial.format_of(data) == format1_write.FORMAT
    assert pr_str(serial.deserialize(r, data)) == "[(same 1)]"


def test_python_list_in_a_value_is_not_serializable_in_either_format(rt: Runtime) -> None:
    register_python("fmt_test.py-list", lambda: [1, 2])
    for v in (TVector([1, [2]]), ev(rt, "[(fmt_test.py-list)]"), [1, 2], {"a": 1}, (1, 2)):
        with pytest.raises(TurmericError) as info:
            serial.serialize(rt, v)
        assert kind(info.value) == "not-serializable"


def test_python_list_in_a_frame_names_the_variable(rt: Runtime) -> None:
    register_python("fmt_test.py-list2", lambda: [1, 2])
    src = """
    (defn holds-list [] (let [xs (fmt_test.py-list2)] (+ 1 (cloneable-shift [k] k))))
    (cloneable-reset holds-list)
    """
    kk = ev(rt, src)
    with pytest.raises(TurmericError) as info:
        serial.serialize(rt, kk)
    assert kind(info.value) == "not-serializable"
    assert "variable xs" in info.value.value.vals[1]


def test_a_failed_write_or_read_leaves_the_next_one_working(rt: Runtime, k: Continuation) -> None:
    good = serial.serialize(rt, k)
    for _ in range(3):
        with pytest.raises(TurmericError):
            serial.serialize(rt, TVector([1, [2]]))
        with pytest.raises(TurmericError):
            serial.deserialize(rt, good[:-3])
        with pytest.raises(TurmericError):
            serial.deserialize(rt, good + b"\x01")
        assert serial.serialize(rt, k) == good
        assert call(rt, serial.deserialize(rt, good), 1) == call(rt, k, 1)


def test_the_code_table_cache_follows_redefinition(rt: Runtime) -> None:
    m = rt.module("fmt_redef")
    rt.eval_text("(defn rd [n] (+ n (cloneable-shift [k] k)))", m, "fmt_redef.tm")
    kk = rt.eval_text("(cloneable-reset (fn [] (rd 1)))", m, "fmt_redef.tm")
    data = serial.serialize(rt, kk)
    assert call(rt, serial.deserialize(rt, data), 2) == 3  # cached now
    rt.eval_text("(defn rd [n] (* n (cloneable-shift [k] k)))", m, "fmt_redef.tm")
    e = load_error(rt, data)
    assert kind(e) == "schema-mismatch"


# --------------------------------------------------------------------------- format 1 bytes


def envelope(data: bytes) -> list[Any]:
    """The decoded format-1 envelope [format, program-version, codes, objects, root]."""
    assert data.startswith(format1_write.MAGIC)
    return msgpack.unpackb(data[len(format1_write.MAGIC) :], raw=False, strict_map_key=False)


def pack(payload: list[Any]) -> bytes:
    return format1_write.MAGIC + msgpack.packb(payload, use_bin_type=True)


def ext_ref(i: int) -> ExtType:
    return ExtType(common.X_REF, i.to_bytes(4, "big"))


@pytest.fixture(scope="module")
def sample1(rt: Runtime, k: Continuation) -> bytes:
    return serial.serialize_format1(rt, k)


def _tamper(sample: bytes, edit: Any) -> bytes:
    payload = envelope(sample)
    edit(payload)
    return pack(payload)


def _frames(payload: list[Any]) -> list[list[Any]]:
    return [o for o in payload[3] if o[0] == format1_write.R_FRAME]


def _set(payload: list[Any], i: int, v: Any) -> None:
    payload[i] = v


def _record(p: list[Any], tag: int) -> list[Any]:
    return next(o for o in p[3] if o[0] == tag)


STRUCTURAL_1 = {
    "format version": lambda p: _set(p, 0, 2),
    "envelope too short": lambda p: p.pop(),
    "envelope too long": lambda p: p.append(None),
    "program version not a string": lambda p: _set(p, 1, 7),
    "code table not a list": lambda p: _set(p, 2, {"a": 1}),
    "odd code table": lambda p: p[2].append("x"),
    "code table entry not a string": lambda p: _set(p[2], 1, 5),
    "objects not a list": lambda p: _set(p, 3, "x"),
    "object record not a list": lambda p: p[3].append(5),
    "empty record": lambda p: p[3].append([]),
    "unknown tag": lambda p: p[3].append([99, 1]),
    "root out of range": lambda p: _set(p, 4, ext_ref(10_000)),
    "root bad ref": lambda p: _set(p, 4, ExtType(common.X_REF, b"\x00")),
    "unknown ext": lambda p: _set(p, 4, ExtType(42, b"x")),
    "raw map root": lambda p: _set(p, 4, {"a": 1}),
    "raw list root": lambda p: _set(p, 4, [1, 2]),
    "empty big int": lambda p: _set(p, 4, ExtType(common.X_BIGINT, b"")),
    "bad utf-8 keyword": lambda p: _set(p, 4, ExtType(common.X_KW, b"\xff\xfe")),
    "frame pc out of range": lambda p: _set(_frames(p)[0], 2, 10_000),
    "frame pc not int": lambda p: _set(_frames(p)[0], 2, "0"),
    "frame with a missing local": lambda p: _frames(p)[0].pop(),
    "frame with an extra local": lambda p: _frames(p)[0].append(1),
    "bad code index": lambda p: _set(_frames(p)[0], 1, 999),
    "continuation not resumable flag": lambda p: _set(_record(p, format1_write.R_CONT), 1, 1),
    "continuation holding a non-frame": lambda p: _record(p, format1_write.R_CONT).append(5),
    "ref with no value": lambda p: _record(p, format1_write.R_REF).pop(),
    "closure with wrong env": lambda p: _record(p, format1_write.R_CLOSURE).append(1),
    "map with odd items": lambda p: p[3].append([format1_write.R_MAP, 1]),
    "forward reference": lambda p: p[3].insert(0, [format1_write.R_VEC, ext_ref(1)]),
    "struct name not a string": lambda p: p[3].append([format1_write.R_STRUCT, 5]),
}


@pytest.mark.parametrize("name", list(STRUCTURAL_1))
def test_format_1_structural_corruption_is_corrupt(rt: Runtime, sample1: bytes, name: str) -> None:
    e = load_error(rt, _tamper(sample1, STRUCTURAL_1[name]))
    assert kind(e) == "corrupt-data", e.format()


def test_format_1_unknown_code_symbol_is_missing_function(rt: Runtime, sample1: bytes) -> None:
    def edit(p: list[Any]) -> None:
        p[2][0] = "no.such.module/fn"

    e = load_error(rt, _tamper(sample1, edit))
    assert kind(e) == "missing-function"
    assert tuple(e.value.vals) == ("no.such.module/fn",)


def test_format_1_changed_code_version_is_schema_mismatch(rt: Runtime, sample1: bytes) -> None:
    def edit(p: list[Any]) -> None:
        p[2][1] = "0000000000000000"

    payload = envelope(sample1)
    e = load_error(rt, _tamper(sample1, edit))
    assert kind(e) == "schema-mismatch"
    assert tuple(e.value.vals) == (payload[2][0], payload[1])


ATOMS = [
    (ExtType(common.X_BUILTIN, b"core.no-such-builtin"), "missing-function"),
    (ExtType(common.X_GLOBAL, b"core.no-such-global"), "missing-function"),
    (ExtType(common.X_GLOBAL, b"no.such.module.f"), "missing-function"),
    (ExtType(common.X_GLOBAL, b"f"), "missing-function"),
    (ExtType(common.X_GLOBAL, b""), "missing-function"),
    (ExtType(common.X_STYPE, b"nowhere.thing"), "missing-function"),
    (ExtType(common.X_SYM, b"\xff"), "corrupt-data"),
]


@pytest.mark.parametrize("atom,expected", ATOMS, ids=repr)
def test_format_1_unknown_atoms(rt: Runtime, atom: ExtType, expected: str) -> None:
    assert kind(load_error(rt, pack([format1_write.FORMAT, "x", [], [], atom]))) == expected


def test_format_1_unknown_struct_type_is_missing_function(rt: Runtime) -> None:
    data = pack([format1_write.FORMAT, "x", [], [[format1_write.R_STRUCT, "nowhere.thing", 1]], ext_ref(0)])
    assert kind(load_error(rt, data)) == "missing-function"


def test_format_1_struct_field_count_change_is_schema_mismatch(rt: Runtime) -> None:
    data = serial.serialize_format1(rt, ev(rt, "(struct pt3 [x y]) (pt3 1 2)"))

    def edit(p: list[Any]) -> None:
        p[3][0].append(3)

    assert kind(load_error(rt, _tamper(data, edit))) == "schema-mismatch"


def test_format_1_foreign_msgpack_ext_is_corrupt(rt: Runtime) -> None:
    data = pack([format1_write.FORMAT, "x", [], [], msgpack.Timestamp(5, 0)])
    assert kind(load_error(rt, data)) == "corrupt-data"


def test_format_1_tampered_handler_frame_never_crashes(rt: Runtime) -> None:
    src = "(defn g1 [] (try (+ 1 (cloneable-shift [k] k)) (catch [e] :caught))) (cloneable-reset g1)"
    data = serial.serialize_format1(rt, ev(rt, src))

    def edit(p: list[Any]) -> None:
        for o in _frames(p):
            if p[2][2 * o[1]] == "core/%try":
                del o[4:]

    assert kind(load_error(rt, _tamper(data, edit))) == "corrupt-data"


def test_format_1_bytes_are_not_pickle(sample1: bytes) -> None:
    assert not sample1.startswith(b"\x80")
    assert isinstance(envelope(sample1), list)


# --------------------------------------------------------------------------- format 2 bytes


def format2_parts(data: bytes) -> tuple[int, str, list[str], Any]:
    """(kind, program version, code names, body) of format-2 bytes; extension values stay
    raw (ExtType), so a test can edit them and `format2_bytes` packs them back."""
    assert data.startswith(format2_write.MAGIC)
    n = struct.unpack(">I", data[5:9])[0]
    prog, names = msgpack.unpackb(data[9 : 9 + n], raw=False)
    body = msgpack.unpackb(data[9 + n :], raw=False)
    return data[4], prog, names, body


def format2_bytes(kind_: int, prog: Any, names: Any, body: Any, head: bytes | None = None) -> bytes:
    if head is None:
        head = msgpack.packb([prog, names], use_bin_type=True)
    return format2_write.MAGIC + bytes([kind_]) + struct.pack(">I", len(head)) + head + msgpack.packb(
        body, use_bin_type=True
    )


def vec(*items: Any) -> ExtType:
    return ExtType(format2_write.X_VEC, msgpack.packb(list(items), use_bin_type=True))


def value_bytes(body: Any, names: list[str] | None = None) -> bytes:
    """Format-2 bytes whose body is one value (kind 0)."""
    return format2_bytes(0, "x", names or [], body)


@pytest.fixture(scope="module")
def sample2(rt: Runtime, k: Continuation) -> bytes:
    data = serial.serialize(rt, k)
    assert serial.format_of(data) == format2_write.FORMAT
    return data


def _tamper2(sample: bytes, edit: Any) -> bytes:
    kind_, prog, names, body = format2_parts(sample)
    parts = [kind_, prog, names, body]
    edit(parts)
    return format2_bytes(*parts)


def _slot(p: list[Any], v: Any) -> None:
    p[3][4] = v  # the first local of the top frame


STRUCTURAL_2 = {
    "unknown kind": lambda p: _set(p, 0, 9),
    "program version not a string": lambda p: _set(p, 1, 7),
    "odd code table": lambda p: p[2].append("x"),
    "code table entry not a string": lambda p: _set(p[2], 1, 5),
    "code table not a list": lambda p: _set(p, 2, "x"),
    "continuation without resumable": lambda p: p[3].pop(),
    "resumable not a bool": lambda p: _set(p[3], -1, 1),
    "continuation payload not an array": lambda p: _set(p, 3, 5),
    "frame pc out of range": lambda p: _set(p[3], 1, 10_000),
    "frame pc negative": lambda p: _set(p[3], 1, -1),
    "frame pc not int": lambda p: _set(p[3], 1, "0"),
    "frame slot count wrong": lambda p: _set(p[3], 2, p[3][2] + 1),
    "frame code index out of range": lambda p: _set(p[3], 0, 999),
    "frame code index not int": lambda p: _set(p[3], 0, "a"),
    "frame cut short": lambda p: p[3].pop(-2),
    "extra value after the frames": lambda p: p[3].insert(-1, 1),
    "frame closure not a closure": lambda p: _set(p[3], 3, 5),
    "ref out of range": lambda p: _slot(p, ExtType(common.X_REF, (999).to_bytes(2, "big"))),
    "array ref without numbered arrays": lambda p: _slot(p, ExtType(format2_write.X_AREF, b"\x00")),
    "unknown ext": lambda p: _slot(p, ExtType(42, b"x")),
    "ext code 0": lambda p: _slot(p, ExtType(0, b"x")),
    "raw map in a slot": lambda p: _slot(p, {"a": 1}),
    "bad utf-8 keyword": lambda p: _slot(p, ExtType(common.X_KW, b"\xff\xfe")),
    "empty big int": lambda p: _slot(p, ExtType(common.X_BIGINT, b"")),
    "vector payload not msgpack": lambda p: _slot(p, ExtType(format2_write.X_VEC, b"\xc1")),
    "vector payload cut short": lambda p: _slot(p, ExtType(format2_write.X_VEC, b"\x92\x01")),
    "vector payload with extra bytes": lambda p: _slot(p, ExtType(format2_write.X_VEC, b"\x91\x01\x00")),
    "vector payload not an array": lambda p: _slot(p, ExtType(format2_write.X_VEC, b"\x05")),
    "array claiming 4 billion items": lambda p: _slot(p, ExtType(format2_write.X_VEC, b"\xdd\xff\xff\xff\xff")),
    "map payload odd": lambda p: _slot(p, ExtType(format2_write.X_MAP, msgpack.packb([1]))),
    "struct name not a string": lambda p: _slot(p, ExtType(format2_write.X_STRUCT, msgpack.packb([5]))),
    "closure payload empty": lambda p: _slot(p, ExtType(format2_write.X_CLO, b"\x90")),
    "closure with wrong env": lambda p: _slot(p, ExtType(format2_write.X_CLO, msgpack.packb([0, 1, 2, 3]))),
    "closure of a bad code index": lambda p: _slot(p, ExtType(format2_write.X_CLO, msgpack.packb([99]))),
    "ref payload empty": lambda p: _slot(p, ExtType(format2_write.X_CELL, b"")),
    "nested too deeply": lambda p: _slot(p, _deep_ext(format2_write.MAX_NEST + 5)),
}


def _deep_ext(depth: int) -> ExtType:
    x: Any = 1
    for _ in range(depth):
        x = vec(x)
    return x  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", list(STRUCTURAL_2))
def test_format_2_structural_corruption_is_corrupt(rt: Runtime, sample2: bytes, name: str) -> None:
    e = load_error(rt, _tamper2(sample2, STRUCTURAL_2[name]))
    assert kind(e) == "corrupt-data", e.format()


@pytest.mark.parametrize(
    "data",
    [
        format2_write.MAGIC,
        format2_write.MAGIC + b"\x01",
        format2_write.MAGIC + b"\x01\x00\x00\x00",
        format2_write.MAGIC + b"\x01\xff\xff\xff\xff",
        format2_write.MAGIC + b"\x00\x00\x00\x00\x01\xc1",
        format2_write.MAGIC + b"\x00\x00\x00\x00\x00\xc0",
    ],
    ids=repr,
)
def test_format_2_bad_header_is_corrupt(rt: Runtime, data: bytes) -> None:
    assert kind(load_error(rt, data)) == "corrupt-data"


def test_format_2_trailing_bytes_are_corrupt(rt: Runtime, sample2: bytes) -> None:
    for extra in (b"\x00", b"\xc0", sample2):
        assert kind(load_error(rt, sample2 + extra)) == "corrupt-data"


def test_format_2_unknown_code_symbol_is_missing_function(rt: Runtime, sample2: bytes) -> None:
    def edit(p: list[Any]) -> None:
        p[2][0] = "no.such.module/fn"

    e = load_error(rt, _tamper2(sample2, edit))
    assert kind(e) == "missing-function"
    assert tuple(e.value.vals) == ("no.such.module/fn",)


def test_format_2_changed_code_version_is_schema_mismatch(rt: Runtime, sample2: bytes) -> None:
    _, prog, names, _ = format2_parts(sample2)

    def edit(p: list[Any]) -> None:
        p[2][1] = "0000000000000000"

    e = load_error(rt, _tamper2(sample2, edit))
    assert kind(e) == "schema-mismatch"
    assert tuple(e.value.vals) == (names[0], prog)


@pytest.mark.parametrize("atom,expected", ATOMS, ids=repr)
def test_format_2_unknown_atoms(rt: Runtime, atom: ExtType, expected: str) -> None:
    assert kind(load_error(rt, value_bytes(atom))) == expected


def test_format_2_unknown_struct_type_is_missing_function(rt: Runtime) -> None:
    data = value_bytes(ExtType(format2_write.X_STRUCT, msgpack.packb(["nowhere.thing", 1])))
    assert kind(load_error(rt, data)) == "missing-function"


def test_format_2_struct_field_count_change_is_schema_mismatch(rt: Runtime) -> None:
    ev(rt, "(struct pt4 [x y])")
    t = next(q for q in rt.structs if q.endswith(".pt4"))
    data = value_bytes(ExtType(format2_write.X_STRUCT, msgpack.packb([t, 1, 2, 3])))
    assert kind(load_error(rt, data)) == "schema-mismatch"


def test_format_2_msgpack_timestamp_is_just_a_number(rt: Runtime) -> None:
    assert isinstance(serial.deserialize(rt, value_bytes(msgpack.Timestamp(5, 0))), float)


def test_format_2_arrays_are_vectors_wherever_they_are(rt: Runtime) -> None:
    v = serial.deserialize(rt, value_bytes([1, [2, [3]]]))
    assert isinstance(v, TVector) and pr_str(v) == "[1 [2 [3]]]"


def test_format_2_tampered_handler_frame_never_crashes(rt: Runtime) -> None:
    src = "(defn g2 [] (try (+ 1 (cloneable-shift [k] k)) (catch [e] :caught))) (cloneable-reset g2)"
    data = serial.serialize(rt, ev(rt, src))
    kind_, prog, names, body = format2_parts(data)
    i = names[::2].index("core/%try")
    j = 0
    while body[j] != i:  # find the handler frame: walk frame by frame
        j += 4 + body[j + 2]
    body[j + 4] = 5  # its handler is not a function
    assert kind(load_error(rt, format2_bytes(kind_, prog, names, body))) == "corrupt-data"


def test_format_2_closure_of_other_code_in_a_frame_is_corrupt(rt: Runtime) -> None:
    src = """
    (defn outer-c [n] (let [f (fn [x] (+ x n (cloneable-shift [k] k)))] (+ 0 (f 1))))
    (cloneable-reset (fn [] (outer-c 2)))
    """
    kk = ev(rt, src)
    data = serial.serialize(rt, kk)
    kind_, prog, names, body = format2_parts(data)
    assert isinstance(body[3], ExtType) and body[3].code == format2_write.X_CLO  # the top frame's closure
    payload = msgpack.unpackb(body[3].data)
    other = next(i for i, n in enumerate(names[::2]) if n != names[2 * payload[0]])
    payload[0] = other
    body[3] = ExtType(format2_write.X_CLO, msgpack.packb(payload))
    e = load_error(rt, format2_bytes(kind_, prog, names, body))
    assert kind(e) == "corrupt-data"


def test_module_outside_module_path_is_never_loaded(tmp_path: Path) -> None:
    marker = tmp_path / "pwned.txt"
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "payload.tm").write_text(
        f'(defmacro boom [] (write-file {_tm_str(str(marker))} "ran") nil)\n(boom)\n(defn f [] 1)\n'
    )
    (tmp_path / "roots").mkdir()
    r = Runtime(roots=[str(tmp_path / "roots")])
    atom = ExtType(common.X_GLOBAL, f"{evil}/payload.f".encode())
    for data in (pack([format1_write.FORMAT, "x", [], [], atom]), value_bytes(atom)):
        try:
            serial.deserialize(r, data)
        except TurmericError as e:
            assert kind(e) in {"missing-function", "corrupt-data"}
    assert not marker.exists()
    assert not any(m.startswith("/") for m in r.modules)


def test_format_2_bytes_are_not_pickle(sample2: bytes) -> None:
    assert not sample2.startswith(b"\x80")
    assert b"pickle" not in sample2


# --------------------------------------------------------------------------- the C stack

STACK_CHECK = """
import sys, threading
import msgpack
from tmweb.lang import Runtime, TurmericError
from tmweb.lang import serial
from tmweb.lang.serial import format2_write

def ext_head(code, n):
    # msgpack's header of an extension value with n bytes of data
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}.get(n)
    if fixed is not None:
        return bytes([fixed, code])
    if n < 256:
        return bytes([0xC7, n, code])
    if n < 65536:
        return b"\\xc8" + n.to_bytes(2, "big") + bytes([code])
    return b"\\xc9" + n.to_bytes(4, "big") + bytes([code])

def nested_vectors(depth):
    # the packed value ext(VEC, [ext(VEC, [... [1]])]), `depth` levels, built inside out in
    # linear time: each level is a header and a one-item array around the level inside it
    parts, inner = [], 1  # msgpack's 1 is one byte
    for _ in range(depth):
        head = ext_head(format2_write.X_VEC, inner + 1)
        parts.append(head + b"\\x91")
        inner += len(head) + 1
    return b"".join(reversed(parts)) + b"\\x01"

small = 1
for _ in range(300):
    small = msgpack.ExtType(format2_write.X_VEC, msgpack.packb([small]))
assert nested_vectors(300) == msgpack.packb(small)  # the same bytes as msgpack's own

rt = Runtime()
v = rt.eval_text(
    "(loop [i 0 acc [:end]] (if (= i {depth}) acc (recur (inc i) [:v acc])))", rt.module("m"))
# hand-built: {deep} nested extension values, far past what the reader accepts
bad = (format2_write.MAGIC + b"\\x00" + (11).to_bytes(4, "big") + msgpack.packb(["x", []])
       + nested_vectors({deep}))
out = []

def run():
    data = serial.serialize(rt, v)
    out.append(serial.format_of(data))
    out.append(serial.deserialize(rt, data) is not None)
    try:
        serial.deserialize(rt, bad)
    except TurmericError as e:
        out.append(e.value.type.name)

threading.stack_size(512 * 1024)
t = threading.Thread(target=run)
t.start()
t.join()
print(out)
"""


def test_deepest_format_2_values_fit_a_small_thread_stack() -> None:
    """msgpack's nested calls run on the C stack: the deepest value format 2 writes, and
    far deeper hand-built bytes (2,000 levels; the reader refuses past MAX_NEST), must not
    crash a thread with a 512 KB stack."""
    code = STACK_CHECK.replace("{depth}", str(format2_write.MAX_NEST)).replace("{deep}", "2000")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "[2, True, 'corrupt-data']"


# --------------------------------------------------------------------------- both readers


def test_closure_frames_keep_their_closure(rt: Runtime) -> None:
    src = """
    (defn outer-d [n] (let [f (fn [x] (+ x n (cloneable-shift [k] k)))] (f 1)))
    (cloneable-reset (fn [] (outer-d 2)))
    """
    kk = ev(rt, src)
    back = serial.deserialize(rt, serial.serialize(rt, kk))
    assert isinstance(back.frames[0][3], Closure) and back.frames[0][3].env
    assert call(rt, back, 10) == call(rt, kk, 10) == 13


@pytest.mark.parametrize("value", ["1", "0", ""])
def test_tmweb_pure_python_chooses_the_decoder(value: str) -> None:
    """TMWEB_PURE_PYTHON=1 reads with msgpack's Unpacker; 0 or empty keeps the C decoder
    where it was built. Either way a value round-trips."""
    prog = (
        "from tmweb.lang import Runtime, pr_str, serial\n"
        "from tmweb.lang.serial import format2_read\n"
        "rt = Runtime()\n"
        "v = rt.eval_text('[1 [2 \"x\"]]', rt.module('m'))\n"
        "print(format2_read.DECODE is None, pr_str(serial.deserialize(rt, serial.serialize(rt, v))))\n"
    )
    env = {**os.environ, "TMWEB_PURE_PYTHON": value}
    out = subprocess.run(
        [sys.executable, "-c", prog], env=env, capture_output=True, text=True, check=True
    ).stdout.split(maxsplit=1)
    pure = value == "1" or format2_read._decode is None
    assert out == [str(pure), '[1 [2 "x"]]\n']
