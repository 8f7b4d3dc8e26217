"""Fresh names for macros and derived forms that do not depend on process history.

A name made while a module compiles (by a derived form, an auto-gensym `x#` in a
quasiquote, or `(gensym)` called by a macro) comes from that module's own counter, so the
same source gives the same names in every process, whatever other modules were loaded
first. Such names can reach code versions and code symbols (a macro that defines a global
under a gensym), so they must be as reproducible as the source. `(gensym)` called while a
program runs, outside any compilation, uses a process-wide counter: its names are data and
never name code.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class GensymCounter:
    """The counter of one module's compilation; `next()` gives 1, 2, 3..."""

    __slots__ = ("n",)

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


_active: ContextVar[GensymCounter | None] = ContextVar("tmweb_gensym_counter", default=None)
_process = itertools.count(1)


@contextmanager
def compiling(counter: GensymCounter) -> Iterator[None]:
    """Make `counter` the source of fresh names while a module's forms expand."""
    token = _active.set(counter)
    try:
        yield
    finally:
        _active.reset(token)


def next_number() -> int:
    """The next number of the module being compiled, or of the process outside compilation."""
    counter = _active.get()
    return counter.next() if counter is not None else next(_process)


__all__ = ["GensymCounter", "compiling", "next_number"]
