"""Fuzzing `deserialize` (SPEC 1.5): bytes that are truncated, corrupted or not ours are a
`TurmericError` (corrupt-data, missing-function, schema-mismatch) or a value - never
another Python exception, never a file written, never any code run but code lookup.

On CI (the `ci` Hypothesis profile, tests/conftest.py) more than 10,000 byte strings in
total go through `serial.deserialize`, a tenth of that under `dev`, from seven strategies,
covering both formats (format 2, what `serialize` writes, and format 1, its fallback):
byte-level mutations of valid serializations of both formats (bit flips, truncations,
insertions, deletions, splices of two serializations), random bytes with and without either
magic, random msgpack values behind either magic, random format-1 envelopes shaped like
ours, structure-aware mutations of decoded valid format-1 envelopes (one record field
replaced), random format-2 messages (a header, then values built from our extension types
with nested payloads), and structure-aware mutations of valid format-2 messages (a value,
nested payload or frame field replaced, inserted, deleted or swapped).

The runtime under test has an empty temporary folder as its only module root, and the
tests run with another empty temporary folder as the current directory; every call is
watched: `open`, `os.system`, `subprocess.Popen` and `Machine.run` must not be used by it.
"""

from __future__ import annotations

import builtins
import io
import os
import random
import subprocess
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgpack
import pytest
from conftest import decoders, examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmweb.lang import Runtime, TurmericError, serial
from tmweb.lang.serial import common, format1_write, format2_read, format2_write

DECODERS = decoders()
ALLOWED = {"corrupt-data", "missing-function", "schema-mismatch"}
COUNTS: Counter[str] = Counter()
KINDS: Counter[str | None] = Counter()  # outcomes, shown by the last test

SETTINGS = dict(
    deadline=None,
    database=None,  # no .hypothesis folder: the current folder must stay empty
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PROGRAM = """
(struct point [x y])
(struct node [v next])
(defn fz-adder [n] (fn [x] (+ x n)))
(defn fz-f [a b]
  (let [c (* a b) d [a b] e {:a a "b" b} g (fz-adder c) r (ref d)]
    (+ c (first d) (g 1) (cloneable-shift [k] k))))
(defn fz-deep [n] (if (= n 0) (cloneable-shift [k] k) (+ 1 (fz-deep (- n 1)))))
(defn fz-try [] (try (+ 1 (cloneable-shift [k] k)) (catch [e] :caught)))
(defn fz-map [xs] (mapv (fn [x] (if (= x 2) (cloneable-shift [k] k) x)) xs))
(defn fz-counter [] (let [n 0] [(fn [] (set! n (+ n 1)) n) (fn [] n)]))
(def cyc (ref nil))
(ref-set! cyc [1 cyc {:self cyc}])
"""

SEED_VALUES = [
    "nil",
    "true",
    "-17",
    str(2**200),
    str(-(2**70)),
    "3.5",
    '"h\\u00e9llo"',
    ":kw",
    "'sym",
    "'(1 2 (3))",
    '[1 [2 "x"] {:a 1}]',
    '{:a 1 "s" [1 2] 3 :three [1 2] nil}',
    "(point 1 (point 2 3))",
    "(node 1 (node 2 nil))",
    "(Some [1 (None)])",
    '(error "boom")',
    "(ref [1 2])",
    "cyc",
    "inc",
    "(fz-adder 5)",
    "(fz-counter)",
    "point",
    "(cloneable-reset (fn [] (fz-f 3 4)))",
    "(cloneable-reset (fn [] (fz-deep 5)))",
    "(cloneable-reset fz-try)",
    "(cloneable-reset (fn [] (fz-map [1 2 3])))",
    "(let [r (ref 0)] [r r (cloneable-reset (fn [] (fz-f 1 2)))])",
]


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> tuple[Runtime, list[bytes]]:
    """The runtime and valid serializations of every seed value in both formats (format 2
    where `serialize` writes it, which is every seed but the cyclic vector)."""
    roots = tmp_path_factory.mktemp("fuzz-roots")
    rt = Runtime(roots=[str(roots)])
    m = rt.module("fz")
    rt.eval_text(PROGRAM, m)
    values = [rt.eval_text(src, m) for src in SEED_VALUES]
    seeds = [serial.serialize(rt, v) for v in values] + [serial.serialize_format1(rt, v) for v in values]
    for data in seeds:  # every seed is valid
        serial.deserialize(rt, data)
    assert sum(serial.format_of(d) == format2_write.FORMAT for d in seeds) >= len(values) - 1
    return rt, seeds


def _of_format(seeds: list[bytes], fmt: int) -> list[bytes]:
    return [d for d in seeds if serial.format_of(d) == fmt]


class Watch:
    """Records forbidden side effects while `active`."""

    def __init__(self) -> None:
        self.active = False
        self.events: list[str] = []


@pytest.fixture
def guarded(
    fuzz_env: tuple[Runtime, list[bytes]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[bytes], None]]:
    """A checked `deserialize`: returns a value or raises an allowed TurmericError and
    nothing else; meanwhile no file is opened, no process started, no Turmeric code run."""
    rt, _ = fuzz_env
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    w = Watch()
    tables = [rt.serializable, rt.resource_serializable]
    hooks = [(c, {k: dict(v) for k, v in c.impls.items()}) for c in tables]
    for c in tables:  # no instance may run here
        for d in c.impls.values():
            d.clear()

    def spy(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            if w.active:
                w.events.append(f"{name}{a!r:.200}")
            return real(*a, **k)

        return wrapper

    monkeypatch.setattr(builtins, "open", spy("open", builtins.open))
    monkeypatch.setattr(io, "open", spy("io.open", io.open))
    monkeypatch.setattr(os, "system", spy("os.system", os.system))
    monkeypatch.setattr(subprocess, "Popen", spy("Popen", subprocess.Popen))
    monkeypatch.setattr(rt.machine, "run", spy("Machine.run", rt.machine.run))

    monkeypatch.setattr(format2_read, "DECODE", format2_read.DECODE)  # `outcome` switches it; put back after

    def outcome(data: bytes, decode: Any) -> tuple[str | None, bytes]:
        """(error kind, b"") or ("value", the value in format 1: its structure and sharing)."""
        format2_read.DECODE = decode
        w.active = True
        try:
            v = serial.deserialize(rt, data)
        except TurmericError as e:
            kind = getattr(getattr(e.value, "type", None), "name", None)
            assert kind in ALLOWED, f"{kind}: {e.message}"
            return kind, b""
        finally:
            w.active = False
        return "value", serial.serialize_format1(rt, v)

    def check(data: bytes) -> None:
        COUNTS["total"] += 1
        first, *others = [outcome(data, decode) for _, decode in DECODERS]
        KINDS[first[0]] += 1
        assert not w.events, w.events
        for other in others:  # every decoder reads the same bytes the same way
            assert other == first, (data, first, other)

    yield check
    assert os.listdir(cwd) == []
    for c, impls in hooks:
        for k, v in impls.items():
            c.impls[k].update(v)


# --------------------------------------------------------------------------- strategies


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    data = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "set", "truncate", "insert", "delete", "splice", "dup"]))
        n = len(data)
        if op == "flip" and n:
            i = draw(st.integers(0, n - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif op == "set" and n:
            i = draw(st.integers(0, n - 1))
            data[i] = draw(
                st.sampled_from([0x00, 0xFF, 0x7F, 0x80, 0xC0, 0xC1, 0xD6, 0xDC, 0x90, 0x9F, 0xA0])
            )
        elif op == "truncate":
            del data[draw(st.integers(0, n)) :]
        elif op == "insert":
            i = draw(st.integers(0, n))
            data[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and n:
            i = draw(st.integers(0, n - 1))
            del data[i : i + draw(st.integers(1, 8))]
        elif op == "splice":
            other = draw(st.sampled_from(seeds))
            i = draw(st.integers(0, n))
            j = draw(st.integers(0, len(other)))
            data = data[:i] + bytearray(other[j:])
        elif op == "dup" and n:
            i = draw(st.integers(0, n - 1))
            data[i:i] = data[i : i + draw(st.integers(1, 16))]
    return bytes(data)


# The structured generators below are plain Python driven by one hypothesis-drawn seed:
# nested hypothesis strategies cost tens of milliseconds per example, these well under one,
# and a failure still reports its seed (re-run `gen(random.Random(seed))` to reproduce).

EXT_CODES = [
    common.X_REF, common.X_KW, common.X_SYM, common.X_BIGINT, common.X_BUILTIN, common.X_STYPE, common.X_GLOBAL, format2_write.X_AREF,
    0, 99, 127, -5,
]  # fmt: skip
FORMAT2_COMPOUND = [
    format2_write.X_VEC, format2_write.X_MAP, format2_write.X_STRUCT, format2_write.X_LIST, format2_write.X_CLO, format2_write.X_CONT, format2_write.X_CELL, format2_write.X_BOX, format2_write.X_CUSTOM,
    format2_write.X_RESOURCE,
]  # fmt: skip
EXT_NAMES = [
    b"core.inc", b"core.+", b"core.map", b"fz.point", b"fz.node", b"fz.fz-adder", b"fz.cyc",
    b"core.error", b"core.Some", b"12345678901234567890", b"-5", b"x", b"no.such", b"", b"fz.",
]  # fmt: skip
SYMBOLS = [
    "fz.fz-f", "fz.fz-adder~fn#1", "fz.fz-deep", "fz.fz-try~fn#1", "core/%try", "core/%prompt",
    "core/%try-with", "core/%halt", "core.map", "core.mapv", "fz.nope", "fz.point", "", "fz",
]  # fmt: skip


def _atom(rnd: random.Random) -> Any:
    r = rnd.randrange(12)
    if r == 0:
        return None
    if r == 1:
        return rnd.random() < 0.5
    if r == 2:
        return rnd.choice([0, 1, -1, 2, 3, 10, 255, 2**31, 2**63 - 1, -(2**63), 2**64 - 1])
    if r == 3:
        return rnd.randrange(-50, 50)
    if r == 4:
        return rnd.choice([0.0, -1.5, float("inf"), float("nan"), 1e300])
    if r == 5:
        return "".join(rnd.choice("ab:./#%\u00e9\u2603") for _ in range(rnd.randrange(6)))
    if r == 6:
        return rnd.randbytes(rnd.randrange(6))
    if r == 7:
        return msgpack.Timestamp(rnd.randrange(2**34), rnd.randrange(10**9))
    if r in (8, 9):  # references are the most interesting extension
        code = rnd.choice([common.X_REF, common.X_REF, format2_write.X_AREF])
        return msgpack.ExtType(code, rnd.randrange(12).to_bytes(rnd.choice([1, 2, 4]), "big"))
    code = rnd.choice(EXT_CODES)
    data = rnd.choice(EXT_NAMES) if rnd.random() < 0.7 else rnd.randbytes(rnd.randrange(6))
    return tuple.__new__(msgpack.ExtType, (code, data))  # ExtType() refuses negative codes


def gen_msg(rnd: random.Random, depth: int = 0) -> Any:
    """A random msgpack-able value, nested a little."""
    r = rnd.random()
    if depth >= 3 or r < 0.6:
        return _atom(rnd)
    n = rnd.randrange(6)
    if r < 0.9:
        return [gen_msg(rnd, depth + 1) for _ in range(n)]
    return {rnd.choice(["a", "b", 1, 2, -3]): gen_msg(rnd, depth + 1) for _ in range(n)}


def gen_record(rnd: random.Random) -> list[Any]:
    tag = rnd.choice([*range(1, 12), 0, 12, 99])
    fields = [gen_msg(rnd, 2) for _ in range(rnd.randrange(6))]
    if tag in (format1_write.R_FRAME, format1_write.R_CLOSURE) and rnd.random() < 0.8:
        fields[:0] = [rnd.randrange(3), rnd.randrange(3)]  # a code index and a pc
    if tag == format1_write.R_CONT and rnd.random() < 0.8:
        fields.insert(0, rnd.random() < 0.5)
    if tag in (format1_write.R_STRUCT, format1_write.R_CUSTOM, format1_write.R_RESOURCE) and rnd.random() < 0.8:
        fields.insert(
            0, rnd.choice(["fz.point", "fz.node", "core.error", "FileHandle", "int64", "x"])
        )
    return [tag, *fields]


def gen_envelope(rnd: random.Random) -> bytes:
    """An envelope with our shape: format, version, code table, records, root."""
    codes: list[Any] = []
    for _ in range(rnd.randrange(4)):
        codes += [rnd.choice(SYMBOLS), rnd.choice(["0", "", "0000000000000000", "x"])]
    records = [gen_record(rnd) for _ in range(rnd.randrange(7))]
    root = (
        msgpack.ExtType(common.X_REF, rnd.randrange(8).to_bytes(4, "big"))
        if rnd.random() < 0.6
        else gen_msg(rnd)
    )
    fmt = rnd.choice([format1_write.FORMAT, format1_write.FORMAT, format1_write.FORMAT, 0, 2, "1"])
    return format1_write.MAGIC + _packb([fmt, rnd.choice(["", "abc", "0" * 12]), codes, records, root])


def gen_structural(rnd: random.Random, seeds: list[bytes]) -> bytes:
    """A decoded valid envelope with a few parts replaced by random msgpack values."""
    payload = msgpack.unpackb(rnd.choice(seeds)[len(format1_write.MAGIC) :], raw=False, strict_map_key=False)
    for _ in range(rnd.randrange(1, 4)):
        where = rnd.choice(["field", "field", "field", "record", "record", "code", "root", "top"])
        objs = payload[3] if isinstance(payload[3], list) else []
        codes = payload[2] if isinstance(payload[2], list) else []
        if where == "field" and objs and isinstance(rec := rnd.choice(objs), list):
            i = rnd.randrange(len(rec) + 1)
            action = rnd.choice(["replace", "insert", "delete", "swap"])
            if action == "insert" or i == len(rec):
                rec.insert(i, gen_msg(rnd, 1))
            elif action == "replace":
                rec[i] = gen_msg(rnd, 1)
            elif action == "delete":
                del rec[i]
            else:
                j = rnd.randrange(len(rec))
                rec[i], rec[j] = rec[j], rec[i]
        elif where == "record" and objs:
            i = rnd.randrange(len(objs))
            r = rnd.random()
            if r < 0.4:
                objs[i] = gen_record(rnd)
            elif r < 0.7:
                objs.insert(i, rnd.choice(objs))
            else:
                j = rnd.randrange(len(objs))
                objs[i], objs[j] = objs[j], objs[i]
        elif where == "code" and codes:
            codes[rnd.randrange(len(codes))] = rnd.choice([*SYMBOLS, gen_msg(rnd, 2)])
        elif where == "root":
            payload[4] = gen_msg(rnd)
        elif where == "top":
            payload[rnd.randrange(5)] = gen_msg(rnd)
    return format1_write.MAGIC + _packb(payload)


def _format2_head(rnd: random.Random) -> bytes:
    names: list[Any] = []
    for _ in range(rnd.randrange(4)):
        names += [rnd.choice(SYMBOLS), rnd.choice(["0", "", "0000000000000000", "x"])]
    head: Any = [rnd.choice(["", "abc"]), names] if rnd.random() < 0.9 else gen_msg(rnd)
    return _packb(head)


def _format2_message(kind: int, head: bytes, body: bytes) -> bytes:
    return format2_write.MAGIC + bytes([kind]) + len(head).to_bytes(4, "big") + head + body


def gen_format2_value(rnd: random.Random, depth: int = 0) -> Any:
    """A random format-2 value: atoms, arrays, and our compound extensions whose payload is
    itself a packed random value (so decoding nests)."""
    r = rnd.random()
    if depth >= 4 or r < 0.5:
        return _atom(rnd)
    if r < 0.7:
        return [gen_format2_value(rnd, depth + 1) for _ in range(rnd.randrange(5))]
    code = rnd.choice(FORMAT2_COMPOUND)
    if code in (format2_write.X_CUSTOM, format2_write.X_RESOURCE) and rnd.random() < 0.7:
        items: Any = [rnd.choice(["fz.point", "FileHandle", "vector", "x.y"]), gen_format2_value(rnd, depth + 1)]
    elif code == format2_write.X_STRUCT and rnd.random() < 0.7:
        items = [rnd.choice(["fz.point", "fz.node", "core.Some", "x"]), 1, 2]
    elif code == format2_write.X_CLO and rnd.random() < 0.7:
        items = [rnd.randrange(3), *[gen_format2_value(rnd, depth + 1) for _ in range(rnd.randrange(3))]]
    elif code == format2_write.X_CONT and rnd.random() < 0.7:
        items = [*_gen_frame(rnd, depth), rnd.random() < 0.8]
    else:
        items = [gen_format2_value(rnd, depth + 1) for _ in range(rnd.randrange(5))]
    payload = _packb(items if code not in (format2_write.X_CELL, format2_write.X_BOX) else gen_format2_value(rnd, depth + 1))
    return msgpack.ExtType(code, payload)


def _gen_frame(rnd: random.Random, depth: int) -> list[Any]:
    n = rnd.randrange(4)
    slots = [gen_format2_value(rnd, depth + 1) for _ in range(n)]
    cref = None if rnd.random() < 0.7 else gen_format2_value(rnd, depth + 1)
    return [rnd.randrange(3), rnd.randrange(4), n if rnd.random() < 0.8 else n + 1, cref, *slots]


def gen_format2(rnd: random.Random, heads: list[bytes]) -> bytes:
    """A format-2 message: a header (a real one, so the body gets read, or a random one), a
    kind, and a random body."""
    kind = rnd.choice([0, 0, 1, 1, 2, 3, 4, 255])
    if kind & 1 and rnd.random() < 0.8:
        body = [x for _ in range(rnd.randrange(3)) for x in _gen_frame(rnd, 1)]
        body.append(rnd.random() < 0.8)
    else:
        body = gen_format2_value(rnd)
    head = rnd.choice(heads) if rnd.random() < 0.6 else _format2_head(rnd)
    return _format2_message(kind, head, _packb(body))


def _heads(seeds: list[bytes]) -> list[bytes]:
    return [d[9 : 9 + int.from_bytes(d[5:9], "big")] for d in seeds if serial.format_of(d) == format2_write.FORMAT]


class _Raw:
    """A format-2 extension value decoded one level, its payload kept editable."""

    def __init__(self, code: int, data: bytes) -> None:
        self.code = code
        try:
            self.inner: Any = msgpack.unpackb(data, raw=False, ext_hook=_Raw, strict_map_key=False)
            self.data = None
        except Exception:
            self.inner, self.data = None, data

    def pack(self) -> msgpack.ExtType:
        if self.data is not None:
            return msgpack.ExtType(self.code, self.data)
        return msgpack.ExtType(self.code, _packb(_repack(self.inner)))


def _repack(x: Any) -> Any:
    if isinstance(x, _Raw):
        return x.pack()
    if isinstance(x, list):
        return [_repack(y) for y in x]
    if isinstance(x, dict):
        return {k: _repack(v) for k, v in x.items()}
    return x


def _lists(x: Any, out: list[list[Any]]) -> list[list[Any]]:
    """Every editable array inside `x` (arrays and extension payloads), outermost first."""
    if isinstance(x, _Raw):
        if isinstance(x.inner, list):
            out.append(x.inner)
        _lists(x.inner, out)
    elif isinstance(x, list):
        out.append(x)
        for y in x:
            _lists(y, out)
    return out


def gen_format2_structural(rnd: random.Random, seeds: list[bytes]) -> bytes:
    """A valid format-2 message with a few values, payload items or frame fields replaced,
    inserted, deleted or swapped, or its kind or header changed."""
    data = rnd.choice(seeds)
    n = int.from_bytes(data[5:9], "big")
    kind, head = data[4], data[9 : 9 + n]
    body: Any = msgpack.unpackb(data[9 + n :], raw=False, ext_hook=_Raw, strict_map_key=False)
    holder = [body]
    for _ in range(rnd.randrange(1, 4)):
        where = rnd.random()
        if where < 0.08:
            kind = rnd.choice([0, 1, 2, 3, 7])
        elif where < 0.16:
            head = _format2_head(rnd)
        elif not (targets := _lists(holder, [])[1:]):  # a plain value: replace it
            holder[0] = gen_format2_value(rnd, 1)
        else:
            target = rnd.choice(targets)
            i = rnd.randrange(len(target) + 1)
            action = rnd.choice(["replace", "replace", "insert", "delete", "swap"])
            if action == "insert" or i == len(target):
                target.insert(i, gen_format2_value(rnd, 2))
            elif action == "replace":
                target[i] = gen_format2_value(rnd, 2) if rnd.random() < 0.7 else rnd.randrange(-2, 20)
            elif action == "delete":
                del target[i]
            else:
                j = rnd.randrange(len(target))
                target[i], target[j] = target[j], target[i]
    return _format2_message(kind, head, _packb(_repack(holder[0])))


def _packb(v: Any) -> bytes:
    return msgpack.packb(v, use_bin_type=True)


SEEDS = st.integers(min_value=0, max_value=2**64 - 1)


# --------------------------------------------------------------------------- tests


#: Inputs per strategy, as multiples of the Hypothesis profile's examples (`examples`);
#: each test checks that all of its inputs ran.
SHARES = {
    "mutated": 4, "random": 1.5, "msgpack": 1.5, "envelope": 3, "structural": 5,
    "format2": 3, "format2-structural": 6,
}  # fmt: skip


def _run(name: str, strategy: Any, check: Callable[[bytes], None]) -> None:
    n = examples(SHARES[name])
    before = COUNTS["total"]

    @settings(max_examples=n, **SETTINGS)
    @given(strategy)
    def inner(data: bytes) -> None:
        check(data)

    inner()
    COUNTS[name] = COUNTS["total"] - before
    assert COUNTS[name] >= n, COUNTS


def test_mutated_serializations(
    fuzz_env: tuple[Runtime, list[bytes]], guarded: Callable[[bytes], None]
) -> None:
    _run("mutated", mutated(fuzz_env[1]), guarded)


MAGICS = st.sampled_from([format1_write.MAGIC, format2_write.MAGIC])


def test_random_bytes(guarded: Callable[[bytes], None]) -> None:
    behind = st.tuples(MAGICS, st.binary(max_size=64)).map(lambda mb: mb[0] + mb[1])
    _run("random", st.one_of(st.binary(max_size=64), behind), guarded)


def test_random_msgpack_behind_magic(guarded: Callable[[bytes], None]) -> None:
    def message(seed: int) -> bytes:
        rnd = random.Random(seed)
        if rnd.random() < 0.5:
            return format1_write.MAGIC + _packb(gen_msg(rnd))
        return _format2_message(rnd.randrange(4), _format2_head(rnd), _packb(gen_msg(rnd)))

    _run("msgpack", SEEDS.map(message), guarded)


def test_envelope_shaped(
    fuzz_env: tuple[Runtime, list[bytes]], guarded: Callable[[bytes], None]
) -> None:
    _run("envelope", SEEDS.map(lambda seed: gen_envelope(random.Random(seed))), guarded)


def test_structural_mutations(
    fuzz_env: tuple[Runtime, list[bytes]], guarded: Callable[[bytes], None]
) -> None:
    seeds = _of_format(fuzz_env[1], format1_write.FORMAT)
    strategy = SEEDS.map(lambda seed: gen_structural(random.Random(seed), seeds))
    _run("structural", strategy, guarded)


def test_format_2_shaped(
    fuzz_env: tuple[Runtime, list[bytes]], guarded: Callable[[bytes], None]
) -> None:
    heads = _heads(fuzz_env[1])
    _run("format2", SEEDS.map(lambda seed: gen_format2(random.Random(seed), heads)), guarded)


def test_format_2_structural_mutations(
    fuzz_env: tuple[Runtime, list[bytes]], guarded: Callable[[bytes], None]
) -> None:
    seeds = _of_format(fuzz_env[1], format2_write.FORMAT)
    strategy = SEEDS.map(lambda seed: gen_format2_structural(random.Random(seed), seeds))
    _run("format2-structural", strategy, guarded)


def test_total_is_at_least_ten_thousand_on_ci() -> None:
    """Under the `ci` profile the strategies above feed at least 10,000 inputs in all (each
    test checks its own count), to each decoder."""
    assert sum(SHARES.values()) * settings.get_profile("ci").max_examples >= 10_000, SHARES
