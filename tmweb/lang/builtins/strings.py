"""String, keyword and symbol built-ins, and printing to standard output.

Strings are Python `str`; `subs` also slices `bytes`. Printing looks `sys.stdout` up at
each call so a test (or the web layer) can redirect it.
"""

from __future__ import annotations

import sys
from typing import Any

from .. import errors
from ..printer import display, pr_str, to_str
from ..values import Keyword, Symbol, TVector
from .colls import seq_items
from .numbers import MISSING, expected, integer, show
from .registry import builtin


def _string(fname: str, x: Any) -> str:
    if x.__class__ is not str:
        raise expected(fname, "a string", x)
    return x


# --------------------------------------------------------------------------- building text


@builtin("str")
def str_(*xs: Any) -> str:
    """The text of each argument, concatenated (nil is empty, strings unquoted)."""
    return "".join([to_str(x) for x in xs])


class _TStr(str):
    """A string argument to `format`: `%s` gives its text, `%r` its reader syntax."""

    def __repr__(self) -> str:
        return pr_str(str(self))


class _TVal:
    """A non-numeric argument to `format`: `%s` gives `str` of it, `%r` its reader syntax."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __str__(self) -> str:
        return to_str(self.v)

    def __repr__(self) -> str:
        return pr_str(self.v)


def _format_arg(v: Any) -> Any:
    c = v.__class__
    if c is int or c is float:
        return v
    if c is str:
        return _TStr(v)
    return _TVal(v)


@builtin("format")
def format_(fmt: Any, *args: Any) -> str:
    """Python %-formatting (`(format "%s is %d" "x" 3)`); `%s` shows values as `str` does."""
    _string("format", fmt)
    try:
        return fmt % tuple(_format_arg(a) for a in args)
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        reason = str(e).replace("_TStr", "string").replace("_TVal", "value")
        raise errors.type_error(f"format: {reason} (format string {show(fmt)})") from None


@builtin("subs")
def subs(s: Any, start: Any, end: Any = MISSING) -> Any:
    """The part of a string (or bytes) from `start` up to, not including, `end`."""
    if s.__class__ is not str and s.__class__ is not bytes:
        raise expected("subs", "a string or bytes", s)
    integer("subs", start)
    n = len(s)
    stop = n if end is MISSING else integer("subs", end)
    if not 0 <= start <= stop <= n:
        what = "string" if s.__class__ is str else "bytes"
        raise errors.err(
            errors.INDEX_ERROR,
            f"subs: range {start}..{stop} out of bounds for a {what} of length {n}",
        )
    return s[start:stop]


@builtin("split")
def split(s: Any, sep: Any = MISSING) -> TVector:
    """`(split s)` on runs of whitespace; `(split s sep)` on each literal `sep`."""
    _string("split", s)
    if sep is MISSING:
        return TVector(s.split())
    _string("split", sep)
    if sep == "":
        return TVector(list(s))
    return TVector(s.split(sep))


@builtin("join")
def join(a: Any, b: Any = MISSING) -> str:
    """`(join coll)` or `(join sep coll)`: the text of each item, separated by `sep`."""
    sep, coll = ("", a) if b is MISSING else (a, b)
    return to_str(sep).join([to_str(x) for x in seq_items("join", coll)])


@builtin("upper")
def upper(s: Any) -> str:
    return _string("upper", s).upper()


@builtin("lower")
def lower(s: Any) -> str:
    return _string("lower", s).lower()


@builtin("trim")
def trim(s: Any) -> str:
    return _string("trim", s).strip()


@builtin("starts-with?")
def starts_with(s: Any, prefix: Any) -> bool:
    return _string("starts-with?", s).startswith(_string("starts-with?", prefix))


@builtin("ends-with?")
def ends_with(s: Any, suffix: Any) -> bool:
    return _string("ends-with?", s).endswith(_string("ends-with?", suffix))


@builtin("includes?")
def includes(s: Any, part: Any) -> bool:
    """Whether string `part` occurs in string `s`."""
    return _string("includes?", part) in _string("includes?", s)


@builtin("replace")
def replace(s: Any, old: Any, new: Any) -> str:
    """Every literal occurrence of `old` in `s` replaced by `new`."""
    return _string("replace", s).replace(_string("replace", old), _string("replace", new))


@builtin("char-code")
def char_code(s: Any) -> int:
    """The code point of a one-character string."""
    if s.__class__ is not str or len(s) != 1:
        raise expected("char-code", "a one-character string", s)
    return ord(s)


# --------------------------------------------------------------------------- names


@builtin("keyword")
def keyword(x: Any) -> Keyword:
    """`(keyword "a")` is `:a`; keywords and symbols convert by name."""
    c = x.__class__
    if c is Keyword:
        return x
    if c is str or c is Symbol:
        return Keyword(x if c is str else x.name)
    raise expected("keyword", "a string, keyword or symbol", x)


@builtin("symbol")
def symbol(x: Any) -> Symbol:
    """`(symbol "a")` is the symbol `a`; keywords and symbols convert by name."""
    c = x.__class__
    if c is Symbol:
        return x
    if c is str or c is Keyword:
        return Symbol(x if c is str else x.name)
    raise expected("symbol", "a string, keyword or symbol", x)


@builtin("name")
def name(x: Any) -> str:
    """The name of a keyword or symbol as a string (`(name :a)` is "a")."""
    c = x.__class__
    if c is str:
        return x
    if c is Keyword or c is Symbol:
        return x.name
    raise expected("name", "a string, keyword or symbol", x)


@builtin("string?")
def is_string(x: Any) -> bool:
    return x.__class__ is str


@builtin("keyword?")
def is_keyword(x: Any) -> bool:
    return x.__class__ is Keyword


@builtin("symbol?")
def is_symbol(x: Any) -> bool:
    return x.__class__ is Symbol


# --------------------------------------------------------------------------- printing


@builtin("pr-str")
def pr_str_(*xs: Any) -> str:
    """Reader syntax of each argument, separated by spaces."""
    return " ".join([pr_str(x) for x in xs])


@builtin("prn")
def prn(*xs: Any) -> None:
    sys.stdout.write(pr_str_(*xs) + "\n")
    return None


@builtin("print")
def print_(*xs: Any) -> None:
    sys.stdout.write(" ".join([display(x) for x in xs]))
    return None


@builtin("println")
def println(*xs: Any) -> None:
    """Strings as their text, every other value as the reader reads it back, then newline."""
    sys.stdout.write(" ".join([display(x) for x in xs]) + "\n")
    return None
