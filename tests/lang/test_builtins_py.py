"""Table tests for the pure Python built-ins, called directly through REGISTRY[name].fn.

Each row is (name, args, expected); an expected value that is an error struct type means
the call must raise a TurmericError carrying that struct.
"""

from __future__ import annotations

import io
import os
from typing import Any

import pytest

import tmweb.lang.builtins.colls as colls
import tmweb.lang.builtins.numbers  # noqa: F401 - registers the built-ins
import tmweb.lang.builtins.strings  # noqa: F401 - registers the built-ins
import tmweb.lang.builtins.sysio as sysio
from tmweb.lang import errors
from tmweb.lang.builtins.registry import REGISTRY
from tmweb.lang.code import Closure, Code, Continuation
from tmweb.lang.errors import INDEX_ERROR, IO_ERROR, TYPE_ERROR, TurmericError
from tmweb.lang.values import (
    EMPTY,
    FileHandle,
    Keyword,
    Ref,
    Struct,
    StructType,
    Symbol,
    TList,
    TMap,
    TVector,
    equal,
    tlist,
    tvector,
)

ERROR = errors.ERROR
K = Keyword
L = tlist


def V(*xs: Any) -> TVector:
    return tvector(xs)


def M(**kw: Any) -> TMap:
    return TMap({Keyword(k): v for k, v in kw.items()})


POINT = StructType("point", ("x", "y"), "user")
P12 = POINT(1, 2)
SOME, NONE_T = colls.SOME, colls.NONE_T


def call(name: str, *args: Any) -> Any:
    return REGISTRY[name].fn(*args)


def same(a: Any, b: Any) -> bool:
    """Turmeric equality, plus the exact class at the top (3 is not 3.0, a list not a vector)."""
    if a.__class__ is not b.__class__:
        return False
    return equal(a, b)


def check(name: str, args: tuple[Any, ...], want: Any) -> None:
    if isinstance(want, StructType):
        with pytest.raises(TurmericError) as info:
            call(name, *args)
        assert isinstance(info.value.value, Struct)
        assert info.value.value.type is want, info.value.message
        assert name in info.value.message or want is ERROR
    else:
        got = call(name, *args)
        assert same(got, want), f"({name} {args}) = {got!r}, wanted {want!r}"


def rows(table: list[tuple[Any, ...]]) -> Any:
    return pytest.mark.parametrize(
        "name,args,want", table, ids=[f"{r[0]}-{i}" for i, r in enumerate(table)]
    )


# --------------------------------------------------------------------------- numbers

NUMBERS = [
    ("+", (), 0),
    ("+", (1, 2, 3), 6),
    ("+", (1, 2.5), 3.5),
    ("+", (10**30, 1), 10**30 + 1),
    ("+", (1, "a"), TYPE_ERROR),
    ("+", (1, True), TYPE_ERROR),
    ("+", (None,), TYPE_ERROR),
    ("+", (10**400, 1.0), ERROR),
    ("-", (5,), -5),
    ("-", (10, 3, 2), 5),
    ("-", ("x",), TYPE_ERROR),
    ("*", (), 1),
    ("*", (2, 3, 4), 24),
    ("*", (2, K("a")), TYPE_ERROR),
    ("/", (6, 3), 2),
    ("/", (7, 2), 3.5),
    ("/", (2,), 0.5),
    ("/", (1,), 1),
    ("/", (60, 2, 3), 10),
    ("/", (1.0, 4), 0.25),
    ("/", (1, 0), ERROR),
    ("/", (1.0, 0.0), ERROR),
    ("/", (0,), ERROR),
    ("/", ("6", 3), TYPE_ERROR),
    ("quot", (7, 2), 3),
    ("quot", (-7, 2), -3),
    ("quot", (7, -2), -3),
    ("quot", (7.5, 2), 3.0),
    ("quot", (1, 0), ERROR),
    ("mod", (7, 3), 1),
    ("mod", (-7, 3), 2),
    ("mod", (7, -3), -2),
    ("mod", (1, 0), ERROR),
    ("rem", (7, 3), 1),
    ("rem", (-7, 3), -1),
    ("rem", (7, -3), 1),
    ("rem", (-7.5, 2), -1.5),
    ("rem", (1, 0), ERROR),
    ("inc", (1,), 2),
    ("inc", (1.5,), 2.5),
    ("inc", (None,), TYPE_ERROR),
    ("dec", (1,), 0),
    ("abs", (-3,), 3),
    ("abs", (-2.5,), 2.5),
    ("abs", ("3",), TYPE_ERROR),
    ("max", (1, 5, 3), 5),
    ("max", (1, 2.5), 2.5),
    ("max", (1, "z"), TYPE_ERROR),
    ("min", (4, -1, 3), -1),
    ("min", (4,), 4),
    ("=", (1,), True),
    ("=", (1, 1, 1), True),
    ("=", (1, 2), False),
    ("=", (1, True), False),
    ("=", (L([1, 2]), V(1, 2)), True),
    ("=", (M(a=V(1)), M(a=V(1))), True),
    ("=", (P12, POINT(1, 2)), True),
    ("not=", (1, 2), True),
    ("not=", (1, 1), False),
    ("not=", (0, False), True),
    ("<", (1,), True),
    ("<", (1, 2, 3), True),
    ("<", (1, 3, 2), False),
    ("<", (1, True), TYPE_ERROR),
    ("<", ("a", "b"), TYPE_ERROR),
    (">", (3, 2, 1), True),
    (">", (3, 3), False),
    ("<=", (1, 1, 2), True),
    (">=", (2, 2.0, 1), True),
    (">=", (1, 2), False),
    ("compare", (1, 2), -1),
    ("compare", (2, 2.0), 0),
    ("compare", ("b", "a"), 1),
    ("compare", (K("a"), K("b")), -1),
    ("compare", (V(1, 2), V(1, 3)), -1),
    ("compare", (V(1, 2), V(1)), 1),
    ("compare", (None, None), 0),
    ("compare", (1, "a"), TYPE_ERROR),
    ("compare", (M(), M()), TYPE_ERROR),
    ("int", (42,), 42),
    ("int", (3.9,), 3),
    ("int", (-3.9,), -3),
    ("int", ("42",), 42),
    ("int", (" -7 ",), -7),
    ("int", ("4x",), TYPE_ERROR),
    ("int", (float("nan"),), TYPE_ERROR),
    ("int", (True,), TYPE_ERROR),
    ("float", (2,), 2.0),
    ("float", ("2.5",), 2.5),
    ("float", ("abc",), TYPE_ERROR),
    ("float", (None,), TYPE_ERROR),
    ("even?", (4,), True),
    ("even?", (-3,), False),
    ("even?", (2.0,), TYPE_ERROR),
    ("odd?", (-3,), True),
    ("odd?", ("1",), TYPE_ERROR),
    ("zero?", (0,), True),
    ("zero?", (0.0,), True),
    ("zero?", (False,), TYPE_ERROR),
    ("pos?", (1,), True),
    ("pos?", (0,), False),
    ("neg?", (-0.5,), True),
    ("number?", (1,), True),
    ("number?", (1.5,), True),
    ("number?", (True,), False),
    ("number?", ("1",), False),
    ("int?", (1,), True),
    ("int?", (1.0,), False),
    ("int?", (False,), False),
    ("float?", (1.0,), True),
    ("not", (None,), True),
    ("not", (False,), True),
    ("not", (0,), False),
    ("not", (EMPTY,), False),
]


@rows(NUMBERS)
def test_numbers(name: str, args: tuple[Any, ...], want: Any) -> None:
    check(name, args, want)


def test_error_message_names_function_and_value() -> None:
    with pytest.raises(TurmericError) as info:
        call("+", 1, "a")
    assert info.value.message == '+: expected a number, got "a" (string)'
    with pytest.raises(TurmericError) as info:
        call("int", "abc")
    assert '"abc"' in info.value.message
    with pytest.raises(TurmericError) as info:
        call("/", 1, 0)
    assert info.value.value == errors.ERROR("divide by zero")


# --------------------------------------------------------------------------- strings

STRINGS = [
    ("str", (), ""),
    ("str", ("a", 1, None, K("k"), V(1, "x"), True), 'a1:k[1 "x"]#t'),
    ("str", (2.5, Symbol("s")), "2.5s"),
    ("format", ("%s is %d", "x", 3), "x is 3"),
    ("format", ("%s %s %s", None, V(1, 2), K("a")), " [1 2] :a"),
    ("format", ("%r", "q"), '"q"'),
    ("format", ("%.2f", 1.5), "1.50"),
    ("format", ("%05d", 42), "00042"),
    ("format", ("%d", "x"), TYPE_ERROR),
    ("format", ("%s %s", 1), TYPE_ERROR),
    ("format", (1,), TYPE_ERROR),
    ("subs", ("hello", 1), "ello"),
    ("subs", ("hello", 1, 3), "el"),
    ("subs", ("hello", 5), ""),
    ("subs", (b"\x00\x01\x02", 1, 2), b"\x01"),
    ("subs", ("hello", 6), INDEX_ERROR),
    ("subs", ("hello", 3, 2), INDEX_ERROR),
    ("subs", ("hello", -1), INDEX_ERROR),
    ("subs", ("hello", "1"), TYPE_ERROR),
    ("subs", (5, 0), TYPE_ERROR),
    ("split", ("a,b,,c", ","), V("a", "b", "", "c")),
    ("split", ("  a  b\tc\n",), V("a", "b", "c")),
    ("split", ("abc", ""), V("a", "b", "c")),
    ("split", (1, ","), TYPE_ERROR),
    ("split", ("a", 1), TYPE_ERROR),
    ("join", (V("a", "b"),), "ab"),
    ("join", (", ", V(1, "b", K("c"))), "1, b, :c"),
    ("join", ("-", L(["x"])), "x"),
    ("join", ("-", None), ""),
    ("join", ("-", 5), TYPE_ERROR),
    ("upper", ("abc",), "ABC"),
    ("upper", (K("a"),), TYPE_ERROR),
    ("lower", ("ABC",), "abc"),
    ("trim", ("  a b \n",), "a b"),
    ("trim", (None,), TYPE_ERROR),
    ("starts-with?", ("hello", "he"), True),
    ("starts-with?", ("hello", "lo"), False),
    ("starts-with?", ("hello", None), TYPE_ERROR),
    ("ends-with?", ("hello", "lo"), True),
    ("includes?", ("hello", "ll"), True),
    ("includes?", ("hello", "z"), False),
    ("includes?", (V("a"), "a"), TYPE_ERROR),
    ("replace", ("a-b-c", "-", "+"), "a+b+c"),
    ("replace", ("abc", "b", 1), TYPE_ERROR),
    ("char-code", ("a",), 97),
    ("char-code", ("ab",), TYPE_ERROR),
    ("keyword", ("a",), K("a")),
    ("keyword", (Symbol("b"),), K("b")),
    ("keyword", (K("c"),), K("c")),
    ("keyword", (1,), TYPE_ERROR),
    ("symbol", ("a",), Symbol("a")),
    ("symbol", (K("a"),), Symbol("a")),
    ("symbol", (None,), TYPE_ERROR),
    ("name", (K("a"),), "a"),
    ("name", (Symbol("b"),), "b"),
    ("name", ("c",), "c"),
    ("name", (1,), TYPE_ERROR),
    ("string?", ("",), True),
    ("string?", (K("a"),), False),
    ("keyword?", (K("a"),), True),
    ("keyword?", ("a",), False),
    ("symbol?", (Symbol("a"),), True),
    ("pr-str", ("a", 1, None, True, False, b"\x01"), '"a" 1 nil #t #f #bytes "01"'),
    ("pr-str", (), ""),
    ("pr-str", (P12, M(a=L([1]))), "(point 1 2) {:a (1)}"),
]


@rows(STRINGS)
def test_strings(name: str, args: tuple[Any, ...], want: Any) -> None:
    check(name, args, want)


@pytest.mark.parametrize(
    "name,args,out",
    [
        ("println", ("a", V(1, "two", K("three")), None, True), 'a [1 "two" :three] nil #t\n'),
        ("println", (), "\n"),
        ("println", (P12, L([1, 2]), M(a=1)), "(point 1 2) (1 2) {:a 1}\n"),
        ("print", ("a", 1), "a 1"),
        ("prn", ("a", 1), '"a" 1\n'),
    ],
)
def test_printing(
    monkeypatch: pytest.MonkeyPatch, name: str, args: tuple[Any, ...], out: str
) -> None:
    buf = io.StringIO()
    monkeypatch.setattr("sys.stdout", buf)
    assert call(name, *args) is None
    assert buf.getvalue() == out


# --------------------------------------------------------------------------- collections

V123 = V(1, 2, 3)
L123 = L([1, 2, 3])
MAB = M(a=1, b=2)

COLLS = [
    ("list", (), EMPTY),
    ("list", (1, 2), L([1, 2])),
    ("vector", (), V()),
    ("vector", (1, "a"), V(1, "a")),
    ("hash-map", (), M()),
    ("hash-map", (K("a"), 1, K("b"), 2), MAB),
    ("hash-map", (K("a"),), ERROR),
    ("vec", (L123,), V123),
    ("vec", (None,), V()),
    ("vec", (MAB,), V(V(K("a"), 1), V(K("b"), 2))),
    ("vec", (5,), TYPE_ERROR),
    ("get", (MAB, K("a")), 1),
    ("get", (MAB, K("z")), None),
    ("get", (MAB, K("z"), 0), 0),
    ("get", (TMap({"s": 1, V(1): 2}), V(1)), 2),
    ("get", (V123, 0), 1),
    ("get", (V123, 3), None),
    ("get", (V123, -1, "d"), "d"),
    ("get", (V123, K("a")), None),
    ("get", (L123, 2), 3),
    ("get", ("abc", 1), "b"),
    ("get", (P12, K("x")), 1),
    ("get", (P12, K("z"), 9), 9),
    ("get", (None, K("a")), None),
    ("get", (None, K("a"), 5), 5),
    ("get", (5, K("a")), TYPE_ERROR),
    ("get-in", (M(a=M(b=V(10, 20))), V(K("a"), K("b"), 1)), 20),
    ("get-in", (M(a=M()), V(K("a"), K("b"))), None),
    ("get-in", (M(a=M()), V(K("a"), K("b")), "d"), "d"),
    ("get-in", (MAB, V()), MAB),
    ("get-in", (M(p=P12), L([K("p"), K("y")])), 2),
    ("assoc", (MAB, K("c"), 3), M(a=1, b=2, c=3)),
    ("assoc", (MAB, K("a"), 9, K("z"), 0), M(a=9, b=2, z=0)),
    ("assoc", (None, K("a"), 1), M(a=1)),
    ("assoc", (V123, 0, 9), V(9, 2, 3)),
    ("assoc", (V123, 3, 4), V(1, 2, 3, 4)),
    ("assoc", (V123, 5, 4), INDEX_ERROR),
    ("assoc", (V123, K("a"), 4), TYPE_ERROR),
    ("assoc", (P12, K("y"), 5), POINT(1, 5)),
    ("assoc", (P12, K("z"), 5), TYPE_ERROR),
    ("assoc", (MAB, K("a"), 1, K("b")), ERROR),
    ("assoc", (L123, 0, 1), TYPE_ERROR),
    ("assoc-in", (M(a=M(b=1)), V(K("a"), K("b")), 2), M(a=M(b=2))),
    ("assoc-in", (M(), V(K("a"), K("b")), 2), M(a=M(b=2))),
    ("assoc-in", (M(v=V(0, 0)), V(K("v"), 1), 5), M(v=V(0, 5))),
    ("assoc-in", (M(), V(), 1), ERROR),
    ("assoc-in", (M(a=1), V(K("a"), K("b")), 2), TYPE_ERROR),
    ("dissoc", (MAB, K("a")), M(b=2)),
    ("dissoc", (MAB, K("a"), K("b"), K("z")), M()),
    ("dissoc", (None, K("a")), None),
    ("dissoc", (V123, 0), TYPE_ERROR),
    ("conj", (V(1), 2, 3), V(1, 2, 3)),
    ("conj", (L([1]), 2, 3), L([3, 2, 1])),
    ("conj", (None, 1), L([1])),
    ("conj", (M(), V(K("a"), 1)), M(a=1)),
    ("conj", (M(a=1), M(b=2)), MAB),
    ("conj", (M(), 1), TYPE_ERROR),
    ("conj", ("s", 1), TYPE_ERROR),
    ("conj", (V123,), V123),
    ("into", (V(0), L123), V(0, 1, 2, 3)),
    ("into", (L([0]), V(1, 2)), L([2, 1, 0])),
    ("into", (M(), V(V(K("a"), 1))), M(a=1)),
    ("into", (M(a=0), MAB), MAB),
    ("into", (V(), 5), TYPE_ERROR),
    ("cons", (0, L123), L([0, 1, 2, 3])),
    ("cons", (0, V123), L([0, 1, 2, 3])),
    ("cons", (0, None), L([0])),
    ("cons", (0, 1), TYPE_ERROR),
    ("merge", (M(a=1), M(a=2, b=2)), MAB.assoc(K("a"), 2)),
    ("merge", (None, MAB, None), MAB),
    ("merge", (), None),
    ("merge", (MAB, V()), TYPE_ERROR),
    ("first", (L123,), 1),
    ("first", (V123,), 1),
    ("first", (EMPTY,), None),
    ("first", (V(),), None),
    ("first", (None,), None),
    ("first", ("abc",), "a"),
    ("first", (MAB,), V(K("a"), 1)),
    ("first", (5,), TYPE_ERROR),
    ("second", (L123,), 2),
    ("second", (V(1),), None),
    ("last", (L123,), 3),
    ("last", (V123,), 3),
    ("last", (V(),), None),
    ("rest", (L123,), L([2, 3])),
    ("rest", (V123,), L([2, 3])),
    ("rest", (EMPTY,), EMPTY),
    ("rest", (None,), EMPTY),
    ("rest", ("ab",), L(["b"])),
    ("rest", (K("a"),), TYPE_ERROR),
    ("nth", (L123, 1), 2),
    ("nth", (V123, 2), 3),
    ("nth", ("abc", 0), "a"),
    ("nth", (V123, 3), INDEX_ERROR),
    ("nth", (L123, -1), INDEX_ERROR),
    ("nth", (None, 0), INDEX_ERROR),
    ("nth", (V123, 3, "d"), "d"),
    ("nth", (V123, "0"), TYPE_ERROR),
    ("count", (L123,), 3),
    ("count", (V(),), 0),
    ("count", (MAB,), 2),
    ("count", ("abc",), 3),
    ("count", (b"ab",), 2),
    ("count", (None,), 0),
    ("count", (1,), TYPE_ERROR),
    ("empty?", (EMPTY,), True),
    ("empty?", (None,), True),
    ("empty?", ("",), True),
    ("empty?", (V123,), False),
    ("empty?", (P12,), TYPE_ERROR),
    ("contains?", (MAB, K("a")), True),
    ("contains?", (MAB, K("z")), False),
    ("contains?", (V123, 2), True),
    ("contains?", (V123, 3), False),
    ("contains?", (None, 1), False),
    ("contains?", (P12, K("x")), True),
    ("contains?", (1, 1), TYPE_ERROR),
    ("keys", (MAB,), L([K("a"), K("b")])),
    ("keys", (None,), EMPTY),
    ("keys", (V123,), TYPE_ERROR),
    ("vals", (MAB,), L([1, 2])),
    ("range", (3,), L([0, 1, 2])),
    ("range", (1, 4), L([1, 2, 3])),
    ("range", (0, 10, 3), L([0, 3, 6, 9])),
    ("range", (3, 0, -1), L([3, 2, 1])),
    ("range", (0, 1, 0.5), L([0, 0.5])),
    ("range", (0,), EMPTY),
    ("range", (0, 5, 0), ERROR),
    ("range", ("3",), TYPE_ERROR),
    ("concat", (), EMPTY),
    ("concat", (V(1), L([2]), None, "ab"), L([1, 2, "a", "b"])),
    ("concat", (V(1), 2), TYPE_ERROR),
    ("reverse", (V123,), L([3, 2, 1])),
    ("reverse", (None,), EMPTY),
    ("sort", (V(3, 1.5, 2),), L([1.5, 2, 3])),
    ("sort", (L(["b", "a"]),), L(["a", "b"])),
    ("sort", (V(K("b"), K("a")),), L([K("a"), K("b")])),
    ("sort", (V(V(2, 1), V(1, 9)),), L([V(1, 9), V(2, 1)])),
    ("sort", (V(),), EMPTY),
    ("sort", (V(1, "a"),), TYPE_ERROR),
    ("sort", (V(True, 1),), TYPE_ERROR),
    ("take", (2, V123), L([1, 2])),
    ("take", (5, L123), L123),
    ("take", (-1, L123), EMPTY),
    ("take", ("2", L123), TYPE_ERROR),
    ("drop", (1, V123), L([2, 3])),
    ("drop", (1, L123), L([2, 3])),
    ("drop", (5, L123), EMPTY),
    ("drop", (0, V123), L123),
    ("distinct", (V(1, 2, 1, 3, 2),), L123),
    ("distinct", (V(1, True, 1.0, 0, False, None, None),), L([1, True, 0, False, None])),
    ("distinct", (V(V(1), L([1]), V(True)),), L([V(1), V(True)])),
    ("identical?", (K("a"), K("a")), True),
    ("identical?", (V(), V()), False),
    ("list?", (L123,), True),
    ("list?", (V123,), False),
    ("vector?", (V123,), True),
    ("map?", (MAB,), True),
    ("map?", (None,), False),
    ("seq?", (L123,), True),
    ("seq?", (V123,), False),
    ("coll?", (MAB,), True),
    ("coll?", ("s",), False),
    ("nil?", (None,), True),
    ("nil?", (False,), False),
    ("some?", (SOME(1),), True),
    ("some?", (NONE_T(),), False),
    ("some?", (1,), False),
    ("none?", (NONE_T(),), True),
    ("none?", (None,), False),
    ("fn?", (REGISTRY["+"],), True),
    ("fn?", (Closure(Code("m.f", "m", "f", 0, False, 0, None), ()),), True),
    ("fn?", (K("a"),), False),
    ("bytes?", (b"",), True),
    ("bytes?", ("",), False),
    ("ref?", (Ref(1),), True),
    ("ref?", (1,), False),
    ("deref", (Ref(5),), 5),
    ("deref", (5,), TYPE_ERROR),
    ("ref-set!", (5, 1), TYPE_ERROR),
]


@rows(COLLS)
def test_colls(name: str, args: tuple[Any, ...], want: Any) -> None:
    check(name, args, want)


@pytest.mark.parametrize(
    "name,args",
    [
        ("assoc", (K("a"), 9)),
        ("dissoc", (K("a"),)),
        ("conj", (V(K("z"), 0),)),
        ("merge", (M(z=0),)),
        ("into", (V(V(K("z"), 0)),)),
    ],
)
def test_map_updates_do_not_mutate(name: str, args: tuple[Any, ...]) -> None:
    m = M(a=1, b=2)
    before = dict(m.d)
    call(name, m, *args)
    assert m.d == before


def test_vector_updates_do_not_mutate() -> None:
    v = V(1, 2, 3)
    a = call("conj", v, 4)
    b = call("conj", v, 5)
    c = call("assoc", v, 0, 9)
    assert list(v) == [1, 2, 3]
    assert list(a) == [1, 2, 3, 4] and list(b) == [1, 2, 3, 5] and list(c) == [9, 2, 3]


def test_list_results_share_structure() -> None:
    lst = L([1, 2, 3])
    assert call("rest", lst) is lst.tail
    assert call("cons", 0, lst).tail is lst
    assert isinstance(call("range", 3), TList)


def test_refs() -> None:
    r = call("ref", 1)
    assert isinstance(r, Ref)
    assert call("ref-set!", r, 2) == 2
    assert call("deref", r) == 2


def test_options_are_core_structs() -> None:
    assert SOME.fields == ("value",) and SOME.module == "core" and SOME.name == "Some"
    assert NONE_T.fields == () and NONE_T.name == "None"


# --------------------------------------------------------------------------- files and system


def test_write_read_roundtrip(tmp_path: Any) -> None:
    p = str(tmp_path / "a.txt")
    assert call("file-exists?", p) is False
    assert call("write-file", p, "héllo\nworld\n") is None
    assert call("file-exists?", p) is True
    assert call("read-text", p) == "héllo\nworld\n"
    assert call("read-file", p) == "héllo\nworld\n".encode()
    assert call("write-file", p, b"\x00\xff") is None
    assert call("read-file", p) == b"\x00\xff"


def test_file_handles(tmp_path: Any) -> None:
    p = str(tmp_path / "lines.txt")
    call("write-file", p, "one\ntwo\n\nlast")
    h = call("open-file", p)
    assert isinstance(h, FileHandle)
    assert call("file-handle-path", h) == p
    assert [call("read-line", h) for _ in range(5)] == ["one", "two", "", "last", None]
    assert call("close", h) is None
    assert call("close", h) is None
    check("read-line", (h,), IO_ERROR)


def test_open_modes(tmp_path: Any) -> None:
    p = str(tmp_path / "m.txt")
    h = call("open-file", p, K("write"))
    h.file.write("a\n")
    call("close", h)
    h = call("open-file", p, K("append"))
    h.file.write("b\n")
    call("close", h)
    assert call("read-text", p) == "a\nb\n"
    h = call("open-file", p, K("read"))
    assert call("read-line", h) == "a"
    call("close", h)


def test_io_error_message(tmp_path: Any) -> None:
    missing = str(tmp_path / "nope")
    with pytest.raises(TurmericError) as info:
        call("read-file", missing)
    assert info.value.value.type is IO_ERROR
    assert info.value.message == f"read-file: cannot open '{missing}': No such file or directory"


SYSIO = [
    ("read-file", ("/nonexistent/x",), IO_ERROR),
    ("read-text", ("/nonexistent/x",), IO_ERROR),
    ("open-file", ("/nonexistent/x",), IO_ERROR),
    ("write-file", ("/nonexistent/dir/x", "a"), IO_ERROR),
    ("open-file", (".", K("bogus")), TYPE_ERROR),
    ("open-file", (1,), TYPE_ERROR),
    ("write-file", ("x", 1), TYPE_ERROR),
    ("read-file", (None,), TYPE_ERROR),
    ("file-exists?", (K("a"),), TYPE_ERROR),
    ("file-handle-path", ("x",), TYPE_ERROR),
    ("read-line", ("x",), TYPE_ERROR),
    ("close", (None,), TYPE_ERROR),
    ("getenv", (1,), TYPE_ERROR),
    ("exit", ("1",), TYPE_ERROR),
    ("gensym", (1,), TYPE_ERROR),
    ("type-of", (1,), Symbol("int64")),
    ("type-of", (10**40,), Symbol("int64")),
    ("type-of", (1.5,), Symbol("float64")),
    ("type-of", ("s",), Symbol("string")),
    ("type-of", (True,), Symbol("bool")),
    ("type-of", (None,), Symbol("nil")),
    ("type-of", (K("a"),), Symbol("keyword")),
    ("type-of", (Symbol("a"),), Symbol("symbol")),
    ("type-of", (b"",), Symbol("bytes")),
    ("type-of", (EMPTY,), Symbol("list")),
    ("type-of", (V(),), Symbol("vector")),
    ("type-of", (M(),), Symbol("map")),
    ("type-of", (Ref(1),), Symbol("ref")),
    ("type-of", (FileHandle("p", "r", None),), Symbol("FileHandle")),
    ("type-of", (P12,), Symbol("point")),
    ("type-of", (SOME(1),), Symbol("Some")),
    ("type-of", (NONE_T(),), Symbol("None")),
    ("type-of", (REGISTRY["+"],), Symbol("fn")),
    ("type-of", (Continuation(()),), Symbol("continuation")),
]


@rows(SYSIO)
def test_sysio(name: str, args: tuple[Any, ...], want: Any) -> None:
    check(name, args, want)


def test_command_line_args() -> None:
    saved = list(sysio.ARGS)
    try:
        sysio.ARGS[:] = ["a", "b"]
        assert same(call("command-line-args"), V("a", "b"))
        sysio.ARGS[:] = []
        assert same(call("command-line-args"), V())
    finally:
        sysio.ARGS[:] = saved


def test_getenv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TM_TEST_VAR", "yes")
    monkeypatch.delenv("TM_TEST_UNSET", raising=False)
    assert call("getenv", "TM_TEST_VAR") == "yes"
    assert call("getenv", "TM_TEST_UNSET") is None
    assert call("getenv", "TM_TEST_UNSET", "dflt") == "dflt"
    assert os.environ["TM_TEST_VAR"] == "yes"


@pytest.mark.parametrize("args,code", [((), 0), ((3,), 3)])
def test_exit(args: tuple[Any, ...], code: int) -> None:
    with pytest.raises(sysio.ExitProgram) as info:
        call("exit", *args)
    assert info.value.code == code


def test_gensym_is_fresh() -> None:
    a, b = call("gensym"), call("gensym")
    c = call("gensym", "tmp")
    assert isinstance(a, Symbol) and a != b
    assert a.name.startswith("G__") and c.name.startswith("tmp__")


def test_current_time_ms() -> None:
    t = call("current-time-ms")
    assert isinstance(t, int) and t > 1_600_000_000_000


def test_arities_come_from_signatures() -> None:
    assert REGISTRY["+"].min_args == 0 and REGISTRY["+"].max_args is None
    assert REGISTRY["-"].min_args == 1
    assert (REGISTRY["get"].min_args, REGISTRY["get"].max_args) == (2, 3)
    assert (REGISTRY["list?"].min_args, REGISTRY["list?"].max_args) == (1, 1)
    assert REGISTRY["command-line-args"].max_args == 0
