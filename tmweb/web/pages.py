"""tmweb's own pages (expired, bad token, errors) and the debug page's source excerpts."""

from __future__ import annotations

import os
from typing import Any

from ..lang.errors import TurmericError


def _pages_dir() -> str:
    """The top-level templates/ folder: in a source checkout next to the package (first,
    so a checkout's code never renders the pages of another checkout installed editable),
    in the wheel as package `tmweb.pages`."""
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))
    local = os.path.join(checkout, "templates")
    if os.path.isfile(os.path.join(checkout, "pyproject.toml")) and os.path.isfile(
        os.path.join(local, "expired.html")
    ):
        return local
    try:
        from importlib.resources import files

        p = files("tmweb.pages")
        path = os.fspath(p)  # type: ignore[call-overload]
        if os.path.isfile(os.path.join(path, "expired.html")):
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return local


PAGES_DIR = _pages_dir()


def frames_with_source(e: TurmericError, context: int = 2) -> list[dict[str, Any]]:
    """Each frame of the trace with the source lines around its position."""
    trace = list(e.trace) or ([("", e.pos)] if e.pos else [])
    out = []
    for symbol, pos in trace:
        lines: list[dict[str, Any]] = []
        if pos is not None:
            try:
                with open(pos.file, encoding="utf-8") as f:
                    text = f.read().splitlines()
                lo = max(1, pos.line - context)
                hi = min(len(text), pos.line + context)
                for n in range(lo, hi + 1):
                    lines.append({"n": n, "text": text[n - 1], "here": n == pos.line})
            except OSError:
                pass
        out.append({"symbol": symbol, "pos": str(pos) if pos else "", "lines": lines,
                    "col": pos.col if pos else 0})
    return out
