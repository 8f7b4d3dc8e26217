"""tmweb's own pages (not found, expired, bad token, errors...) and the debug page's
source excerpts.

A page is `templates/NAME.html` at the repository root, loaded as `tmweb/NAME.html`. The
app's own `templates/tmweb/NAME.html` replaces one page, and its `templates/tmweb/layout.html`
the shell every page extends (so the pages look like the app). An app's template that fails
to render never hides the answer: the page is rendered again from tmweb's own templates.
The debug page always uses tmweb's own: it must show even when the app's templates are
what is broken.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

from jinja2 import Environment, FileSystemLoader, PrefixLoader, select_autoescape

from ..lang.errors import TurmericError
from .builtins import CURRENT, RequestCtx, url_for

log = logging.getLogger("tmweb")


def _pages_dir() -> str:
    """The top-level templates/ folder of the checkout this package was imported from (a
    source tree has pyproject.toml beside it), else the wheel's package `tmweb.pages`. The
    checkout comes first: with an editable install, `tmweb.pages` names the installed
    checkout's folder, which need not be the one this code came from."""
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if os.path.isfile(os.path.join(checkout, "pyproject.toml")) and os.path.isfile(
        os.path.join(checkout, "templates", "expired.html")
    ):
        return os.path.join(checkout, "templates")
    try:
        from importlib.resources import files

        p = files("tmweb.pages")
        path = os.fspath(p)  # type: ignore[call-overload]
        if os.path.isfile(os.path.join(path, "expired.html")):
            return path
    except (ModuleNotFoundError, TypeError):
        pass
    return os.path.join(checkout, "templates")


PAGES_DIR = _pages_dir()

#: Pages that never take the app's templates.
OWN_ONLY = frozenset({"debug.html"})


@functools.cache
def own_pages() -> Environment:
    """tmweb's templates alone, under `tmweb/`, autoescaped as the app's are."""
    env = Environment(
        loader=PrefixLoader({"tmweb": FileSystemLoader(PAGES_DIR)}),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
    env.globals["url_for"] = url_for
    return env


def render(app_env: Environment, name: str, root_path: str, ctx: dict[str, Any]) -> str:
    """Page `name` with the app's templates first (its layout, its own version of the page),
    or tmweb's own when those fail. `url_for` in the page (and in the app's layout) gives
    URLs under `root_path`, the app's mount prefix."""
    token = CURRENT.set(RequestCtx(root_path)) if CURRENT.get(None) is None else None
    try:
        if name not in OWN_ONLY:
            try:
                return app_env.get_template("tmweb/" + name).render(**ctx)
            except Exception as e:  # the app's template: a mistake in it is not a crash
                log.error("the app's templates could not render tmweb/%s (%s: %s); "
                          "showing tmweb's own page", name, type(e).__name__, e)
        return own_pages().get_template("tmweb/" + name).render(**ctx)
    finally:
        if token is not None:
            CURRENT.reset(token)


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
