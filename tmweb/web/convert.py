"""Between Turmeric values and the Python values Starlette, Jinja2 and JSON expect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..lang.values import Keyword, Struct, Symbol, TList, TMap, TVector


def to_python(v: Any, _depth: int = 0) -> Any:
    """Maps become dicts (keyword keys by name), sequences lists, keywords their names."""
    if _depth > 200:
        raise ValueError("value nested too deeply to convert")
    c = v.__class__
    if v is None or c in (bool, int, float, str):
        return v
    if c is Keyword or c is Symbol:
        return v.name
    if c is TMap:
        return {_key(k): to_python(x, _depth + 1) for k, x in v.items()}
    if c is TVector or c is TList:
        return [to_python(x, _depth + 1) for x in v]
    if c is Struct:
        d = {f: to_python(x, _depth + 1) for f, x in zip(v.type.fields, v.vals)}
        d.setdefault("type", v.type.name)
        return d
    if c is bytes:
        return v.decode("utf-8", errors="replace")
    return repr(v)


def _key(k: Any) -> Any:
    if k.__class__ in (Keyword, Symbol):
        return k.name
    if k.__class__ in (str, int, float, bool) or k is None:
        return k
    return repr(k)


def multi_to_map(items: Iterable[tuple[str, Any]]) -> TMap:
    """Form fields or query parameters: string keys; a repeated key gives a vector."""
    d: dict[Any, Any] = {}
    for k, v in items:
        if not isinstance(v, str):  # an uploaded file: keep its name, never the object
            v = getattr(v, "filename", None) or ""
        if k in d:
            prev = d[k]
            d[k] = prev.conj(v) if prev.__class__ is TVector else TVector([prev, v])
        else:
            d[k] = v
    return TMap(d)
