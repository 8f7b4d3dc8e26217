"""Printing values as the reader reads them back (`pr-str`) or as text (`str`, `println`)."""

from __future__ import annotations

import math
from typing import Any

from .values import EMPTY, Keyword, Ref, Struct, Symbol, TList, TMap, TVector

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _str_lit(s: str) -> str:
    out = []
    for ch in s:
        e = _ESCAPES.get(ch)
        if e is not None:
            out.append(e)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _float(x: float) -> str:
    if math.isnan(x):
        return "##NaN"
    if math.isinf(x):
        return "##Inf" if x > 0 else "##-Inf"
    return repr(x)


def pr_str(v: Any, readable: bool = True) -> str:
    """Reader syntax for `v`; with `readable=False` strings print as their bare text.

    Iterative over a work stack, so a deeply nested value never hits Python's recursion
    limit.
    """
    out: list[str] = []
    stack: list[Any] = [v]
    refs_seen: set[int] = set()  # a ref printed once prints as #<ref ...> again: cycles end
    while stack:
        x = stack.pop()
        if x.__class__ is _Lit:
            out.append(x.s)
            continue
        c = x.__class__
        if x is None:
            out.append("nil")
        elif x is True:
            out.append("#t")
        elif x is False:
            out.append("#f")
        elif c is int:
            out.append(str(x))
        elif c is float:
            out.append(_float(x))
        elif c is str:
            out.append(_str_lit(x) if readable else x)
        elif c is Keyword:
            out.append(":" + x.name)
        elif c is Symbol:
            out.append(x.name)
        elif c is TList or c is TVector:
            open_, close = ("(", ")") if c is TList else ("[", "]")
            _push_seq(stack, open_, list(x), close)
        elif c is TMap:
            items: list[Any] = []
            for k, val in x.items():
                items.append(k)
                items.append(val)
            _push_seq(stack, "{", items, "}", pairs=True)
        elif c is Struct:
            if not x.vals:
                out.append(f"({x.type.name})")
            else:
                _push_seq(stack, "(" + x.type.name + " ", list(x.vals), ")", head=True)
        elif c is bytes:
            out.append('#bytes "' + x.hex() + '"')
        elif c is Ref:
            if id(x) in refs_seen:
                out.append("#<ref ...>")
                continue
            refs_seen.add(id(x))
            stack.append(_Lit(">"))
            stack.append(x.value)
            out.append("#<ref ")
        else:
            out.append(_opaque(x))
    return "".join(out)


class _Lit:
    __slots__ = ("s",)

    def __init__(self, s: str) -> None:
        self.s = s


def _push_seq(
    stack: list[Any], open_: str, items: list[Any], close: str, pairs: bool = False,
    head: bool = False,
) -> None:
    stack.append(_Lit(close))
    for i in range(len(items) - 1, -1, -1):
        stack.append(items[i])
        if i > 0:
            stack.append(_Lit(", " if pairs and i % 2 == 0 else " "))
    stack.append(_Lit(open_))


def _opaque(x: Any) -> str:
    r = repr(x)
    return r if r.startswith("#<") else f"#<{type(x).__name__}>"


def to_str(v: Any) -> str:
    """`str` of one value: strings as their text, nil as empty, others readable."""
    if v is None:
        return ""
    if v.__class__ is str:
        return v
    return pr_str(v, readable=True)


def display(v: Any) -> str:
    """What `println` writes: strings as their text, everything else in reader syntax."""
    if v.__class__ is str:
        return v
    return pr_str(v, readable=True)


__all__ = ["pr_str", "to_str", "display", "EMPTY"]
