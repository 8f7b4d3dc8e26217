"""`(html [:p {:class "x"} "text"])`: hiccup vectors to escaped HTML."""

from __future__ import annotations

from typing import Any

from markupsafe import escape

from ..lang.errors import type_error
from ..lang.printer import pr_str
from ..lang.values import Keyword, Struct, StructType, Symbol, TList, TMap, TVector

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

#: `(raw "<b>trusted</b>")` marks HTML that must not be escaped.
RAW = StructType("raw", ("html",), "core")


def render(node: Any) -> str:
    out: list[str] = []
    _emit(node, out, 0)
    return "".join(out)


def _emit(node: Any, out: list[str], depth: int) -> None:
    if depth > 500:
        raise type_error("html: nested too deeply")
    c = node.__class__
    if node is None or node is False:
        return
    if c is str:
        out.append(str(escape(node)))
    elif c in (int, float) or node is True:
        out.append(str(escape(pr_str(node))))
    elif c is Keyword:
        out.append(str(escape(node.name)))
    elif c is Struct and node.type is RAW:
        out.append(str(node.vals[0]))
    elif c is TList:
        for x in node:
            _emit(x, out, depth + 1)
    elif c is TVector:
        _element(node, out, depth)
    else:
        raise type_error(f"html: cannot render {pr_str(node)}; use strings, numbers, [:tag ...] vectors or lists of them")


def _element(vec: TVector, out: list[str], depth: int) -> None:
    items = list(vec)
    if not items:
        return
    head = items[0]
    if head.__class__ not in (Keyword, Symbol, str):
        # a vector that is not an element: render its items
        for x in items:
            _emit(x, out, depth + 1)
        return
    tag, classes, ident = _parse_tag(head.name if head.__class__ is not str else head)
    attrs: dict[str, Any] = {}
    rest = items[1:]
    if rest and rest[0].__class__ is TMap:
        for k, v in rest[0].d.items():
            attrs[k.name if k.__class__ in (Keyword, Symbol) else str(k)] = v
        rest = rest[1:]
    if classes:
        extra = attrs.get("class")
        attrs["class"] = " ".join(classes + ([extra] if isinstance(extra, str) and extra else []))
    if ident and "id" not in attrs:
        attrs["id"] = ident
    out.append("<" + tag)
    for k, v in attrs.items():
        if v is None or v is False:
            continue
        if v is True:
            out.append(f" {escape(k)}")
            continue
        if v.__class__ is Keyword:
            v = v.name
        elif v.__class__ is not str:
            v = pr_str(v)
        out.append(f' {escape(k)}="{escape(v)}"')
    out.append(">")
    if tag in VOID:
        return
    for x in rest:
        _emit(x, out, depth + 1)
    out.append(f"</{tag}>")


def _parse_tag(name: str) -> tuple[str, list[str], str | None]:
    tag, classes, ident = "", [], None
    buf, mode = "", "tag"
    for ch in name + ".":
        if ch in ".#":
            if mode == "tag":
                tag = buf
            elif mode == "class" and buf:
                classes.append(buf)
            elif mode == "id" and buf:
                ident = buf
            buf, mode = "", ("class" if ch == "." else "id")
        else:
            buf += ch
    if not tag or not all(c.isalnum() or c in "-_:" for c in tag):
        raise type_error(f"html: bad tag name {name!r}")
    return tag, classes, ident
