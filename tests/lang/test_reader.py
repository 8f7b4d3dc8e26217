"""The reader (SPEC 1.1): tables of text -> printed form, positions, errors, and a
round-trip property `read_one(pr_str(v)) == v`."""

from __future__ import annotations

import math
import string
from typing import Any

import pytest
from conftest import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from tmweb.lang import (
    Keyword,
    Pos,
    Symbol,
    TList,
    TMap,
    TurmericError,
    TVector,
    pr_str,
    read_all,
    read_one,
)
from tmweb.lang.values import equal, tlist

# --------------------------------------------------------------------------- forms

READ_TABLE = [
    # comments and discard
    ("; a comment\n7", "7"),
    ("(a ; comment to end of line\n b)", "(a b)"),
    ("#_1 2", "2"),
    ("(1 #_2 3)", "(1 3)"),
    ("[1 #_(foo bar (baz)) 4]", "[1 4]"),
    ("#_ #_ 1 2 3", "3"),
    ("{:a 1 #_:b #_2}", "{:a 1}"),
    # lists, vectors, maps
    ("()", "()"),
    ("(a b c)", "(a b c)"),
    ("(a (b (c)))", "(a (b (c)))"),
    ("[]", "[]"),
    ("[1 [2 [3]]]", "[1 [2 [3]]]"),
    ("{}", "{}"),
    ("{:a 1 :b 2}", "{:a 1, :b 2}"),
    ('{"k" [1] 2 :two [1 2] (x)}', '{"k" [1], 2 :two, [1 2] (x)}'),
    ("(a,b , c)", "(a b c)"),
    # strings
    ('""', '""'),
    ('"plain"', '"plain"'),
    (r'"a\nb"', r'"a\nb"'),
    (r'"tab\there"', r'"tab\there"'),
    (r'"say \"hi\""', r'"say \"hi\""'),
    (r'"back\\slash"', r'"back\\slash"'),
    (r'"\u0041\u00e9"', '"A\u00e9"'),
    ('"caf\u00e9 \u2603"', '"caf\u00e9 \u2603"'),
    ('"multi\nline"', r'"multi\nline"'),
    # integers of any size, floats
    ("0", "0"),
    ("42", "42"),
    ("-17", "-17"),
    ("+5", "5"),
    ("123456789012345678901234567890", "123456789012345678901234567890"),
    ("-99999999999999999999999999", "-99999999999999999999999999"),
    ("3.14", "3.14"),
    ("-0.5", "-0.5"),
    ("1e3", "1000.0"),
    ("2.5e-3", "0.0025"),
    ("1E2", "100.0"),
    # booleans and nil
    ("#t", "#t"),
    ("#f", "#f"),
    ("true", "#t"),
    ("false", "#f"),
    ("nil", "nil"),
    # keywords and symbols
    (":name", ":name"),
    (":payment-info", ":payment-info"),
    ("valid-order?", "valid-order?"),
    ("set!", "set!"),
    ("send/suspend", "send/suspend"),
    ("->", "->"),
    ("+", "+"),
    ("-", "-"),
    ("-x", "-x"),
    ("a.b.c", "a.b.c"),
    ("x#", "x#"),
    # quote family
    ("'x", "(quote x)"),
    ("'(1 2)", "(quote (1 2))"),
    ("`x", "(quasiquote x)"),
    ("~x", "(unquote x)"),
    ("~@xs", "(unquote-splicing xs)"),
    ("`(a ~b ~@c)", "(quasiquote (a (unquote b) (unquote-splicing c)))"),
    ("''x", "(quote (quote x))"),
    # type annotations are ordinary symbols to the reader
    ("[x : int64]", "[x : int64]"),
    ("(defn f [x : a] : bytes x)", "(defn f [x : a] : bytes x)"),
]


@pytest.mark.parametrize("src,expected", READ_TABLE)
def test_read(src: str, expected: str) -> None:
    assert pr_str(read_one(src)) == expected


TYPE_TABLE = [
    ("42", int),
    ("123456789012345678901234567890", int),
    ("1.0", float),
    ("1e3", float),
    ('"s"', str),
    (":k", Keyword),
    ("sym", Symbol),
    ("(1)", TList),
    ("()", TList),
    ("[1]", TVector),
    ("{:a 1}", TMap),
    ("#t", bool),
    ("true", bool),
]


@pytest.mark.parametrize("src,cls", TYPE_TABLE)
def test_read_types(src: str, cls: type) -> None:
    assert type(read_one(src)) is cls


@pytest.mark.parametrize(
    "src,value",
    [("#t", True), ("true", True), ("#f", False), ("false", False), ("nil", None)],
)
def test_read_constants(src: str, value: Any) -> None:
    assert read_one(src) is value


def test_read_all_reads_every_form() -> None:
    forms = read_all("1 [2] ; three\n :four #_five (six)", "f.tm")
    assert [pr_str(f) for f in forms] == ["1", "[2]", ":four", "(six)"]


def test_read_all_of_nothing() -> None:
    assert read_all("  ; only a comment\n #_(gone)  ", "f.tm") == []


def test_map_keys_of_any_type() -> None:
    m = read_one('{:a 1 "b" 2 3 4 [5] 6}')
    assert m.d[Keyword("a")] == 1
    assert m.d["b"] == 2
    assert m.d[3] == 4
    assert equal(m.d[TVector([5])], 6)


@pytest.mark.parametrize("src", ["{1 :a #t :b}", "{0 :a #f :b}"])
def test_map_keys_booleans_are_not_numbers(src: str) -> None:
    assert len(read_one(src)) == 2


# --------------------------------------------------------------------------- positions


def test_positions_on_lists_and_symbols() -> None:
    text = "(defn f [x]\n  (+ x\n     (g x)))"
    form = read_one(text, "pos.tm")
    assert form.pos == Pos("pos.tm", 1, 1)
    items = list(form)
    assert items[0].pos == Pos("pos.tm", 1, 2)  # defn
    assert items[1].pos == Pos("pos.tm", 1, 7)  # f
    body = items[3]
    assert body.pos == Pos("pos.tm", 2, 3)
    plus, x, inner = list(body)
    assert plus.pos == Pos("pos.tm", 2, 4)
    assert x.pos == Pos("pos.tm", 2, 6)
    assert inner.pos == Pos("pos.tm", 3, 6)
    assert list(inner)[1].pos == Pos("pos.tm", 3, 9)


def test_positions_across_forms_and_comments() -> None:
    forms = read_all("; header\n\n  (a)\n\t(b c) ; trailing\n  sym", "m.tm")
    assert [f.pos for f in forms] == [Pos("m.tm", 3, 3), Pos("m.tm", 4, 2), Pos("m.tm", 5, 3)]


def test_positions_after_strings_with_newlines() -> None:
    forms = read_all('"one\ntwo" (x)', "s.tm")
    assert forms[1].pos == Pos("s.tm", 2, 6)


def test_position_of_quote_form() -> None:
    form = read_one("\n  'x", "q.tm")
    assert form.pos == Pos("q.tm", 2, 3)


def test_position_of_map() -> None:
    form = read_one("\n {:a 1}", "q.tm")
    assert form.pos == Pos("q.tm", 2, 2)


# --------------------------------------------------------------------------- errors

ERROR_TABLE = [
    # (source, line, col) of the error
    ("(a b", 1, 1),
    ("\n  (1 (2)", 2, 3),
    ("[1 2", 1, 1),
    ("x\n  [1 2", 2, 3),
    ("{:a 1", 1, 1),
    ('(a "bc', 1, 4),
    ('\n"never closed', 2, 1),
    (")", 1, 1),
    ("  ]", 1, 3),
    ("(]", 1, 2),
    ("[)", 1, 2),
    ("#foo", 1, 1),
    ("(a\n  #bar)", 2, 3),
    ("::a", 1, 1),
    ("12abc", 1, 1),
    ("1.2.3", 1, 1),
    ("{:a}", 1, 1),
    ("'", 1, 1),
    ("#_", 1, 1),
    (r'x "abc\q"', 1, 7),
    (r'"\u12"', 1, 2),
]


@pytest.mark.parametrize("src,line,col", ERROR_TABLE)
def test_reader_errors(src: str, line: int, col: int) -> None:
    with pytest.raises(TurmericError) as info:
        read_all(src, "bad.tm")
    e = info.value
    assert e.value.type.name == "syntax-error"
    assert e.pos == Pos("bad.tm", line, col)
    assert f"bad.tm:{line}:{col}" in e.message


@pytest.mark.parametrize("src,line,col", [("@r", 1, 1), ("(a\n  @)", 2, 3), ("^x", 1, 1)])
def test_reader_error_for_at_and_caret(src: str, line: int, col: int) -> None:
    with pytest.raises(TurmericError) as info:
        read_all(src, "bad.tm")
    assert info.value.value.type.name == "syntax-error"
    assert info.value.pos == Pos("bad.tm", line, col)


@pytest.mark.parametrize(
    "src,words",
    [
        ("(a b", "unclosed"),
        ("[1", "unclosed"),
        ('"abc', "unclosed string"),
        ("#foo", "#foo"),
        ("12abc", "12abc"),
    ],
)
def test_reader_error_messages(src: str, words: str) -> None:
    with pytest.raises(TurmericError) as info:
        read_all(src, "bad.tm")
    assert words in info.value.message


# -- where a missing bracket belongs (issue 13) -------------------------------------------

MISSING_BRACKETS = [
    # the innermost unclosed bracket, not the outer `(` at 1:1, with the file's last line
    ("(defn f [x]\n  (let [y 1]\n    (+ x y)\n", 2, 3,
     "unclosed '(': expected ')' before the end of the file at line 3"),
    # a `)` missing inside `if`: line 3 is indented as if `(>` were closed
    ("(defn f [x]\n  (if (> x 0\n      x\n      0))\n", 2, 7,
     "this '(' is missing its ')': line 3 is indented as if it were closed "
     "(the file ended at line 4 with the '(' at 1:1 unclosed)"),
    # ... and the next definition is not read as a local one inside f
    ("(defn f [x]\n  (if (> x 0\n      x\n      0))\n\n(defn g [] (f 1))\n", 2, 7,
     "this '(' is missing its ')': line 3 is indented as if it were closed, and (defn at 6:1 would be read inside the "
     "'(' at 1:1"),
    ("(defn f [x]\n  (+ x 1)\n(def y 2)\n(defn g [] (f y))\n", 1, 1,
     "this '(' is missing its ')': (def at 3:1 would be read inside it, as a local definition"),
    # a vector at the left margin inside a def is data, not a missing bracket
    ("(def table\n[[1 2]\n [3 4]]\n", 1, 1,
     "this '(' is missing its ')': line 2 is indented as if it were closed "
     "(the file ended at line 3 with it unclosed)"),
    # mismatched brackets name both ends
    ("(defn f [x]\n  (let [y (+ x 1]\n    y))\n", 2, 17,
     "']' at 2:17 does not close the '(' opened at 2:11: expected ')' first"),
    ("(defn f [x] x))\n", 1, 15,
     "unexpected ')': no form is open (the one opened at 1:1 was closed at 1:14)"),
]


@pytest.mark.parametrize("src,line,col,message", MISSING_BRACKETS)
def test_a_missing_bracket_is_reported_where_it_is_missing(
    src: str, line: int, col: int, message: str
) -> None:
    with pytest.raises(TurmericError) as info:
        read_all(src, "m.tm")
    assert info.value.pos == Pos("m.tm", line, col)
    assert info.value.message == f"m.tm:{line}:{col}: {message}"


@pytest.mark.parametrize(
    "src",
    [
        "(def table\n  [[1 2]\n   [3 4]])\n(defn f [] table)\n",
        "(def rows\n[[1 2]\n [3 4]])\n",  # balanced: indentation is only a guess at errors
        '(def s "a\n(defn not-code [])")\n',  # inside a string
        "(defn f []\n  ;; (defn commented [])\n  1)\n",
        "(defn f [x]\n  (def y (+ x 1))\n  y)\n",  # an indented local def is fine
    ],
)
def test_well_formed_text_is_never_flagged(src: str) -> None:
    assert read_all(src, "ok.tm")


def test_typed_input_has_no_indentation_to_trust() -> None:
    from tmweb.lang.reader import incomplete

    assert read_all("(do\n(def a 1)\na)", "<repl>", indentation=False)
    assert incomplete("(defn f [x]\n(+ x 1)")  # a REPL reads another line
    assert incomplete('(str "abc')
    assert not incomplete("(+ 1 2)")
    assert not incomplete("(+ 1 2))")  # an error now, not more input


def test_deep_nesting_does_not_overflow() -> None:
    depth = 50_000
    form = read_one("(" * depth + ")" * depth)
    n = 0
    while form.count:
        form = form.head
        n += 1
    assert n == depth - 1
    assert pr_str(read_one("[" * 2000 + "]" * 2000)) == "[" * 2000 + "]" * 2000


# --------------------------------------------------------------------------- round trip


def strict_equal(a: Any, b: Any) -> bool:
    """`equal`, and also the same classes all the way down (a list is not a vector, 1 is
    not 1.0 here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (TList, TVector)):
        return len(a) == len(b) and all(strict_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, TMap):
        if len(a.d) != len(b.d):
            return False
        for k, v in a.d.items():
            match = [bk for bk in b.d if strict_equal(k, bk)]
            if len(match) != 1 or not strict_equal(v, b.d[match[0]]):
                return False
        return True
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return equal(a, b)


_SYM_START = string.ascii_letters + "*!?<>=_&%"
_SYM_CHARS = string.ascii_letters + string.digits + "*!?<>=_&%-+./#"


def _symbol_name_ok(s: str) -> bool:
    return s not in ("nil", "true", "false") and not s.endswith("/")


symbol_names = st.builds(
    lambda a, b: a + b,
    st.sampled_from(_SYM_START),
    st.text(alphabet=_SYM_CHARS, max_size=12),
).filter(_symbol_name_ok)
symbols = symbol_names.map(Symbol) | st.sampled_from([Symbol("+"), Symbol("-"), Symbol("->")])
keywords = st.text(alphabet=_SYM_CHARS, min_size=1, max_size=12).filter(
    lambda s: not s.endswith(":")
).map(Keyword)
ints = st.integers() | st.integers(min_value=-(10**60), max_value=10**60) | st.sampled_from(
    [0, -1, 2**63, -(2**63) - 1, 2**64 + 1, 10**100]
)
floats = st.floats(allow_nan=False)
strings = st.text() | st.text(alphabet='\\"\n\t\r\x00\x1f\x7f a\u00e9\u2603\U0001f600', max_size=20)
atoms = st.none() | st.booleans() | ints | floats | strings | keywords | symbols
# Map keys that are never `=` to one another across types: no booleans next to 0/1, no
# floats next to ints (1 = 1.0 in Turmeric).
keys = keywords | strings | st.integers(min_value=-(10**30), max_value=10**30)


def _colls(children: Any) -> Any:
    return (
        st.lists(children, max_size=5).map(TVector)
        | st.lists(children, max_size=5).map(tlist)
        | st.dictionaries(keys, children, max_size=5).map(TMap)
    )


values = st.recursive(atoms, _colls, max_leaves=25)


@settings(max_examples=examples(0.3), deadline=None)
@given(values)
def test_read_print_round_trip(v: Any) -> None:
    text = pr_str(v)
    back = read_one(text)
    assert equal(back, v), text
    assert strict_equal(back, v), text
    assert pr_str(back) == text


@settings(max_examples=examples(0.1), deadline=None)
@given(st.lists(values, min_size=1, max_size=5))
def test_read_all_of_printed_values(vs: list[Any]) -> None:
    text = "\n".join(pr_str(v) for v in vs)
    back = read_all(text, "gen.tm")
    assert len(back) == len(vs)
    assert all(strict_equal(b, v) for b, v in zip(back, vs)), text
