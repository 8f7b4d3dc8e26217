"""Random value graphs through both serialization formats (SPEC 1.5: "sharing and cycles
inside it are kept").

Hypothesis draws a seed; plain Python builds from it a graph of Turmeric values: atoms of
every kind, vectors (flat and nested), maps with keys of every kind (booleans next to 1 and
0), lists, structs, refs, boxes, closures capturing a value and continuations holding two
(in a frame's locals and a vector), where a new compound value often reuses one made
before (sharing) and refs are pointed back at earlier values at the end (cycles). Each
graph is written by `serialize` (format 2, or format 1 when it falls back) and by format 1
directly; both copies must load, and a walk over the original and each copy side by side
checks that they are the same shape: equal atoms, the same kinds, and the same sharing
(two places that hold one object in the original hold one object in the copy). Format 1
writes an immutable value that contains itself through a ref twice (docs/decisions.md), so
for format-1 copies the sharing of immutable values is checked only in acyclic graphs.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmweb.lang import Runtime, serial
from tmweb.lang.code import BASE, CLO, PC, Closure, Continuation
from tmweb.lang.values import (
    BoolKey,
    Box,
    Keyword,
    Ref,
    Struct,
    Symbol,
    TList,
    TMap,
    TVector,
    tlist,
)

IDENTITY = (Ref, Box, Closure, Continuation)
IMMUTABLE = (TVector, TMap, TList, Struct)


PROGRAM = """
(struct pair [a b]) (struct one [x]) (struct none [])
(defn capture [x] (fn [] x))
(defn hold [x y] (let [z [x y]] (+ 0 (cloneable-shift [k] k)) z))
(defn suspend [x y] (cloneable-reset (fn [] (hold x y))))
"""


class Env:
    def __init__(self) -> None:
        self.rt = Runtime()
        m = self.rt.module("graphs")
        self.rt.eval_text(PROGRAM, m)
        self.types = [self.rt.structs[f"graphs.{n}"] for n in ("pair", "one", "none")]
        self.capture = m.cells["capture"].value
        self.suspend = m.cells["suspend"].value

    def closure(self, x: Any) -> Closure:
        return self.rt.machine.apply(self.capture, (x,))  # type: ignore[no-any-return]

    def continuation(self, x: Any, y: Any) -> Continuation:
        return self.rt.machine.apply(self.suspend, (x, y))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def env() -> Env:
    return Env()


def _atom(rnd: random.Random) -> Any:
    r = rnd.randrange(11)
    return [
        lambda: None,
        lambda: rnd.random() < 0.5,
        lambda: rnd.randrange(-300, 300),
        lambda: rnd.choice([2**64, -(2**70), 2**63 - 1, -(2**63)]),
        lambda: rnd.choice([0.5, -0.0, float("inf"), 1e300]),
        lambda: rnd.choice(["", "s", "h\u00e9llo", "\u2603" * 3, "x" * 40]),
        lambda: rnd.randbytes(rnd.randrange(4)),
        lambda: Keyword(rnd.choice(["a", "b", "kw", "ns.k"])),
        lambda: Symbol(rnd.choice(["s", "f", "x.y"])),
        lambda: rnd.choice([0, 1]),
        lambda: rnd.choice([True, False]),
    ][r]()


def gen_graph(rnd: random.Random, env: Env) -> Any:
    types = env.types
    made: list[Any] = []  # compound values made so far, for sharing
    refs: list[Any] = []

    def value(depth: int) -> Any:
        r = rnd.random()
        if made and r < 0.2:
            return rnd.choice(made)  # share
        if depth > 4 or r < 0.45:
            return _atom(rnd)
        kind = rnd.randrange(9)
        n = rnd.randrange(5)
        if kind == 0:
            v: Any = TVector([_atom(rnd) for _ in range(n)])  # a flat vector
        elif kind == 1:
            v = TVector([value(depth + 1) for _ in range(n)])
        elif kind == 2:
            keys = [rnd.choice([True, False, 0, 1, "k", Keyword("a"), 2.5, None]) for _ in range(n)]
            v = TMap.of((k, value(depth + 1)) for k in keys)
        elif kind == 3:
            v = tlist([value(depth + 1) for _ in range(n)])
        elif kind == 4:
            t = rnd.choice(types)
            v = Struct(t, tuple(value(depth + 1) for _ in t.fields))
        elif kind in (5, 6):
            v = (Ref if kind == 5 else Box)(value(depth + 1))
            refs.append(v)
        elif kind == 7:
            v = env.closure(value(depth + 1))
        else:
            v = env.continuation(value(depth + 1), value(depth + 1))
        made.append(v)
        return v

    root = TVector([value(0) for _ in range(rnd.randrange(1, 5))])
    for ref in refs:  # cycles: point some refs back at anything made
        if rnd.random() < 0.3:
            ref.value = rnd.choice(made + [root])
    return root


def same_shape(a: Any, b: Any, check_immutable_sharing: bool) -> None:
    """Walk `a` and `b` side by side (iteratively): same atoms, same kinds, and the same
    sharing of objects with identity (and of immutable values, if asked)."""
    seen: dict[int, Any] = {}
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        cx = x.__class__
        assert cx is y.__class__, (x, y)
        if cx in IDENTITY or cx in IMMUTABLE:
            if id(x) in seen:
                if cx in IDENTITY or check_immutable_sharing:
                    assert seen[id(x)] is y, f"sharing lost at {cx.__name__}"
                continue
            seen[id(x)] = y
            if cx is Closure:
                assert x.code is y.code
                stack.extend(zip(x.env, y.env))
            elif cx is Continuation:
                assert len(x.frames) == len(y.frames) and x.resumable == y.resumable
                for fx, fy in zip(x.frames, y.frames):
                    assert fx[CLO].code is fy[CLO].code and fx[PC] == fy[PC]
                    assert len(fx) == len(fy)
                    stack.extend(zip(fx[BASE:], fy[BASE:]))
            elif cx in IDENTITY:
                stack.append((x.value, y.value))
            elif cx is TMap:
                assert list(x.d) == list(y.d) or _keys_equal(x.d, y.d)
                stack.extend(zip(x.d.values(), y.d.values()))
            elif cx is Struct:
                assert x.type is y.type
                stack.extend(zip(x.vals, y.vals))
            else:
                xs, ys = list(x), list(y)
                assert len(xs) == len(ys)
                stack.extend(zip(xs, ys))
        elif cx is float and x != x:
            assert y != y
        elif cx is Keyword:
            assert x is y
        elif cx is Symbol:
            assert x.name == y.name
        else:
            assert x == y, (x, y)


def _keys_equal(dx: dict[Any, Any], dy: dict[Any, Any]) -> bool:
    def norm(k: Any) -> Any:
        if k.__class__ is BoolKey:
            return ("bool", k.value)
        if k.__class__ is Keyword:
            return ("kw", k.name)
        return (type(k).__name__, k if not isinstance(k, (TVector, TMap)) else id(k))

    return [norm(k) for k in dx] == [norm(k) for k in dy]


def has_cycle(v: Any) -> bool:
    """Does the graph reach an object from inside itself?"""
    state: dict[int, int] = {}  # 1: on the current path, 2: done
    stack: list[tuple[Any, bool]] = [(v, False)]
    while stack:
        x, leaving = stack.pop()
        if leaving:
            state[id(x)] = 2
            continue
        cx = x.__class__
        if cx not in IDENTITY and cx not in IMMUTABLE:
            continue
        st_ = state.get(id(x))
        if st_ == 1:
            return True
        if st_ == 2:
            continue
        state[id(x)] = 1
        stack.append((x, True))
        if cx is Closure:
            kids: Any = x.env
        elif cx is Continuation:
            kids = [s for fr in x.frames for s in fr[BASE:]]
        elif cx in IDENTITY:
            kids = [x.value]
        elif cx is TMap:
            kids = list(x.d.values())
        elif cx is Struct:
            kids = x.vals
        else:
            kids = list(x)
        stack.extend((k, False) for k in kids)
    return False


SETTINGS = dict(
    deadline=None,
    database=None,
    max_examples=examples(0.4),
    suppress_health_check=[HealthCheck.too_slow],
)


@settings(**SETTINGS)  # type: ignore[arg-type]
@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_random_graphs_keep_values_and_sharing_in_both_formats(env: Env, seed: int) -> None:
    rt = env.rt
    v = gen_graph(random.Random(seed), env)
    cyclic = has_cycle(v)
    data = serial.serialize(rt, v)
    same_shape(v, serial.deserialize(rt, data), serial.format_of(data) == 2 or not cyclic)
    data1 = serial.serialize_format1(rt, v)
    same_shape(v, serial.deserialize(rt, data1), not cyclic)


def test_the_generator_makes_sharing_cycles_and_both_formats(env: Env) -> None:
    """The property above is only as good as its graphs: check they cover the cases."""
    rt = env.rt
    formats, cycles, shared = set(), 0, 0
    for seed in range(300):
        v = gen_graph(random.Random(seed), env)
        formats.add(serial.format_of(serial.serialize(rt, v)))
        cycles += has_cycle(v)
        shared += serial.serialize(rt, v)[4] & 2 == 2 if serial.format_of(serial.serialize(rt, v)) == 2 else 0
    assert formats == {1, 2} and cycles > 20 and shared > 20, (formats, cycles, shared)
