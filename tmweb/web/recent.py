"""Pages just built by a POST that answered 303 (Post/Redirect/Get), kept in memory for
the GET that follows.

After a form's POST reaches the next step, the app answers 303 to the step's URL, and the
browser asks for that URL at once. The POST has just built the step's page, so the GET is
answered with it instead of reading the step back from the store, loading it and building
the page again: one store round trip, one load and one run of the page function fewer per
step. Only the first GET by the same browser session within `ttl` seconds gets it (it is
taken out); a reload, a second tab, another session or another server process builds the
page from the stored step as before. What is kept is bounded by entries and bytes, oldest
dropped first, so a burst of POSTs whose redirects are never followed costs at most
`max_bytes` of memory per process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Page:
    """A response to give once: status, headers (its content type among them), body."""

    session: str
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    expires: float


class RecentPages:
    """At most `max_entries` pages and `max_bytes` of bodies, each for `ttl` seconds."""

    def __init__(
        self,
        ttl: float = 30.0,
        max_entries: int = 2048,
        max_bytes: int = 8 << 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.clock = clock
        self._pages: OrderedDict[str, Page] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._pages)

    def keep(
        self,
        token: str,
        session: str,
        status: int,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
    ) -> None:
        """Keep the page built for the step `token` for the next GET of it by `session`."""
        if len(body) > self.max_bytes // 8:  # a page this big is built again instead
            return
        self._drop(token)
        page = Page(session, status, tuple(headers), body, self.clock() + self.ttl)
        self._pages[token] = page
        self._bytes += len(body)
        while len(self._pages) > self.max_entries or self._bytes > self.max_bytes:
            _, old = self._pages.popitem(last=False)
            self._bytes -= len(old.body)

    def take(self, token: str, session: str) -> Page | None:
        """The page kept for step `token`, if `session` made it and it is fresh; given
        only once."""
        page = self._pages.get(token)
        if page is None or page.session != session:
            return None
        self._drop(token)
        return page if page.expires > self.clock() else None

    def _drop(self, token: str) -> None:
        old = self._pages.pop(token, None)
        if old is not None:
            self._bytes -= len(old.body)


__all__ = ["Page", "RecentPages"]
