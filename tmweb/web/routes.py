"""`(defroute METHOD "/path/{id}" [req] body...)`: a derived form, registered on import.

It defines the handler as a module global named `METHOD /path` (so its code symbol is
`module.METHOD /path`, stable across processes) and then calls `%defroute`, the built-in
the app installs to collect its routes. `%defroute` counts as a definition, so a module
loaded definitions-only to resolve code still registers its routes.
"""

from __future__ import annotations

from typing import Any

from ..lang.errors import syntax_error
from ..lang.expander import derived
from ..lang.values import Symbol, TList, TVector, tlist

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@derived("defroute")
def defroute(form: TList) -> Any:
    xs = list(form)
    if (
        len(xs) < 4
        or xs[1].__class__ is not Symbol
        or xs[1].name not in METHODS
        or not isinstance(xs[2], str)
        or xs[3].__class__ is not TVector
    ):
        raise syntax_error(
            '(defroute METHOD "/path/{id}" [req] body...) expected, METHOD one of ' + " ".join(METHODS),
            form.pos,
        )
    pos = form.pos
    method, path, params, body = xs[1].name, xs[2], xs[3], xs[4:]
    name = Symbol(f"{method} {path}", pos)
    handler = tlist([Symbol("fn", pos), params, *body], pos)
    return tlist(
        [
            Symbol("do", pos),
            tlist([Symbol("def", pos), name, handler], pos),
            tlist([Symbol("%defroute", pos), method, path, name], pos),
        ],
        pos,
    )

