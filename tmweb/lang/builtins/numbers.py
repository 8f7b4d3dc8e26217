"""Numeric built-ins, plus the small helpers every built-in module uses to report errors.

Numbers are Python `int` (any size) and `float`. Booleans are Python `bool`, a subclass of
`int`, so every check here compares the exact class: `(+ 1 #t)` is a type-error, not 2.
"""

from __future__ import annotations

import math
import operator
from typing import Any

from .. import errors
from ..code import Builtin, Closure, Continuation
from ..printer import pr_str
from ..values import (
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
    truthy,
)
from .registry import builtin

# --------------------------------------------------------------------------- shared helpers

#: Marks an optional argument that was not passed (nil is a legitimate value).
MISSING: Any = object()

_TYPE_NAMES: dict[type, str] = {
    int: "int64",
    float: "float64",
    str: "string",
    bool: "bool",
    type(None): "nil",
    Keyword: "keyword",
    Symbol: "symbol",
    bytes: "bytes",
    TList: "list",
    TVector: "vector",
    TMap: "map",
    Ref: "ref",
    FileHandle: "FileHandle",
    Closure: "fn",
    Builtin: "fn",
    StructType: "fn",
    Continuation: "continuation",
}


def type_name(v: Any) -> str:
    """The Turmeric type name of `v` (what `type-of` returns), e.g. `int64` or `point`."""
    if v.__class__ is Struct:
        return v.type.name
    name = _TYPE_NAMES.get(v.__class__)
    return name if name is not None else type(v).__name__


def show(v: Any, limit: int = 60) -> str:
    """A value in reader syntax, cut short so an error message stays one readable line."""
    text = pr_str(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def expected(fname: str, what: str, v: Any) -> errors.TurmericError:
    """A type-error naming the function, what it wanted, and the value it got instead."""
    return errors.type_error(f"{fname}: expected {what}, got {show(v)} ({type_name(v)})")


def is_num(x: Any) -> bool:
    c = x.__class__
    return c is int or c is float


def is_int(x: Any) -> bool:
    return x.__class__ is int


def num(fname: str, x: Any) -> Any:
    """`x` if it is a number, else a type-error naming `fname`."""
    c = x.__class__
    if c is not int and c is not float:
        raise expected(fname, "a number", x)
    return x


def integer(fname: str, x: Any) -> int:
    """`x` if it is an integer, else a type-error naming `fname`."""
    if x.__class__ is not int:
        raise expected(fname, "an integer", x)
    return x


def _too_large(fname: str) -> errors.TurmericError:
    return errors.user_error(f"{fname}: number too large to represent as a float")


def _div_zero() -> errors.TurmericError:
    return errors.user_error("divide by zero")


# --------------------------------------------------------------------------- arithmetic


@builtin("+")
def add(*xs: Any) -> Any:
    """Sum of the numbers; `(+)` is 0."""
    total: Any = 0
    try:
        for x in xs:
            c = x.__class__
            if c is not int and c is not float:
                raise expected("+", "a number", x)
            total += x
    except OverflowError:
        raise _too_large("+") from None
    return total


@builtin("-")
def sub(x: Any, *xs: Any) -> Any:
    """`(- x)` negates; otherwise subtracts the rest from the first."""
    num("-", x)
    if not xs:
        return -x
    try:
        for y in xs:
            x = x - num("-", y)
    except OverflowError:
        raise _too_large("-") from None
    return x


@builtin("*")
def mul(*xs: Any) -> Any:
    """Product of the numbers; `(*)` is 1."""
    total: Any = 1
    try:
        for x in xs:
            total *= num("*", x)
    except OverflowError:
        raise _too_large("*") from None
    return total


def _div2(a: Any, b: Any) -> Any:
    if b == 0:
        raise _div_zero()
    try:
        if a.__class__ is int and b.__class__ is int:
            q, r = divmod(a, b)
            return q if r == 0 else a / b
        return a / b
    except OverflowError:
        raise _too_large("/") from None


@builtin("/")
def div(x: Any, *xs: Any) -> Any:
    """Division; exact int quotients stay ints, `(/ x)` is 1/x, zero divisors are errors."""
    num("/", x)
    if not xs:
        return _div2(1, x)
    for y in xs:
        x = _div2(x, num("/", y))
    return x


def _trunc_div(fname: str, a: Any, b: Any) -> Any:
    num(fname, a)
    num(fname, b)
    if b == 0:
        raise _div_zero()
    if a.__class__ is int and b.__class__ is int:
        q = abs(a) // abs(b)
        return q if (a < 0) == (b < 0) else -q
    try:
        return float(math.trunc(a / b))
    except (OverflowError, ValueError):
        raise errors.user_error(f"{fname}: cannot divide {show(a)} by {show(b)}") from None


@builtin("quot")
def quot(a: Any, b: Any) -> Any:
    """Quotient rounded toward zero."""
    return _trunc_div("quot", a, b)


@builtin("mod")
def mod(a: Any, b: Any) -> Any:
    """Modulus with the sign of the divisor (Clojure's `mod`, Python's `%`)."""
    num("mod", a)
    num("mod", b)
    if b == 0:
        raise _div_zero()
    try:
        return a % b
    except OverflowError:
        raise _too_large("mod") from None


@builtin("rem")
def rem(a: Any, b: Any) -> Any:
    """Remainder with the sign of the dividend (truncating division)."""
    num("rem", a)
    num("rem", b)
    if b == 0:
        raise _div_zero()
    if a.__class__ is int and b.__class__ is int:
        r = abs(a) % abs(b)
        return r if a >= 0 else -r
    try:
        return math.fmod(a, b)
    except (OverflowError, ValueError):
        raise errors.user_error(f"rem: cannot divide {show(a)} by {show(b)}") from None


@builtin("inc")
def inc(x: Any) -> Any:
    return num("inc", x) + 1


@builtin("dec")
def dec(x: Any) -> Any:
    return num("dec", x) - 1


@builtin("abs")
def abs_(x: Any) -> Any:
    return abs(num("abs", x))


@builtin("max")
def max_(x: Any, *xs: Any) -> Any:
    """The largest argument (the first one on ties)."""
    best = num("max", x)
    for y in xs:
        if num("max", y) > best:
            best = y
    return best


@builtin("min")
def min_(x: Any, *xs: Any) -> Any:
    """The smallest argument (the first one on ties)."""
    best = num("min", x)
    for y in xs:
        if num("min", y) < best:
            best = y
    return best


# --------------------------------------------------------------------------- comparison


@builtin("=")
def eq(x: Any, *xs: Any) -> bool:
    """Structural equality of all arguments (values.equal: booleans never equal numbers)."""
    return all(equal(x, y) for y in xs)


@builtin("not=")
def not_eq(x: Any, *xs: Any) -> bool:
    return not eq(x, *xs)


def _chain(fname: str, op: Any, x: Any, xs: tuple[Any, ...]) -> bool:
    """Check every argument is a number, then whether `op` holds for each adjacent pair."""
    num(fname, x)
    for y in xs:
        num(fname, y)
    prev = x
    for y in xs:
        if not op(prev, y):
            return False
        prev = y
    return True


@builtin("<")
def lt(x: Any, *xs: Any) -> bool:
    return _chain("<", operator.lt, x, xs)


@builtin(">")
def gt(x: Any, *xs: Any) -> bool:
    return _chain(">", operator.gt, x, xs)


@builtin("<=")
def le(x: Any, *xs: Any) -> bool:
    return _chain("<=", operator.le, x, xs)


@builtin(">=")
def ge(x: Any, *xs: Any) -> bool:
    return _chain(">=", operator.ge, x, xs)


def compare_values(fname: str, a: Any, b: Any) -> int:
    """-1, 0 or 1. Orders numbers, strings, keywords and symbols (by name), booleans, nil,
    and lists/vectors item by item; any other pairing is a type-error."""
    ca, cb = a.__class__, b.__class__
    if (ca is int or ca is float) and (cb is int or cb is float):
        pass
    elif ca is not cb and not (ca in (TList, TVector) and cb in (TList, TVector)):
        raise errors.type_error(
            f"{fname}: cannot compare {show(a)} ({type_name(a)}) with {show(b)} ({type_name(b)})"
        )
    elif ca is Keyword or ca is Symbol:
        a, b = a.name, b.name
    elif ca is TList or ca is TVector:
        for x, y in zip(a, b):
            c = compare_values(fname, x, y)
            if c:
                return c
        a, b = len(a), len(b)
    elif a is None:
        return 0
    elif ca is not str and ca is not bool:
        raise errors.type_error(f"{fname}: cannot order values of type {type_name(a)}")
    return -1 if a < b else (1 if a > b else 0)


@builtin("compare")
def compare(a: Any, b: Any) -> int:
    """-1, 0 or 1 as `a` sorts before, with or after `b` (the order `sort` uses)."""
    return compare_values("compare", a, b)


# --------------------------------------------------------------------------- conversion


@builtin("int")
def to_int(x: Any) -> int:
    """Truncates a float, parses a string (`(int "42")`), returns an int unchanged."""
    c = x.__class__
    if c is int:
        return x
    if c is float:
        if math.isnan(x) or math.isinf(x):
            raise errors.type_error(f"int: cannot convert {show(x)} to an integer")
        return int(x)
    if c is str:
        try:
            return int(x.strip(), 10)
        except ValueError:
            raise errors.type_error(f"int: cannot parse {show(x)} as an integer") from None
    raise expected("int", "a number or a string", x)


@builtin("float")
def to_float(x: Any) -> float:
    """Converts an int, parses a string (`(float "2.5")`), returns a float unchanged."""
    c = x.__class__
    if c is float:
        return x
    if c is int:
        try:
            return float(x)
        except OverflowError:
            raise _too_large("float") from None
    if c is str:
        try:
            return float(x.strip())
        except ValueError:
            raise errors.type_error(f"float: cannot parse {show(x)} as a number") from None
    raise expected("float", "a number or a string", x)


# --------------------------------------------------------------------------- predicates


@builtin("even?")
def is_even(x: Any) -> bool:
    return integer("even?", x) % 2 == 0


@builtin("odd?")
def is_odd(x: Any) -> bool:
    return integer("odd?", x) % 2 == 1


@builtin("zero?")
def is_zero(x: Any) -> bool:
    return num("zero?", x) == 0


@builtin("pos?")
def is_pos(x: Any) -> bool:
    return num("pos?", x) > 0


@builtin("neg?")
def is_neg(x: Any) -> bool:
    return num("neg?", x) < 0


@builtin("number?")
def is_number(x: Any) -> bool:
    return is_num(x)


@builtin("int?")
def is_int_p(x: Any) -> bool:
    return x.__class__ is int


@builtin("float?")
def is_float_p(x: Any) -> bool:
    return x.__class__ is float


@builtin("not")
def not_(x: Any) -> bool:
    """True for nil and #f only."""
    return not truthy(x)
