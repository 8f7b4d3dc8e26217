"""tmweb: a continuation-based web framework; handlers are written in Turmeric."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from .web.app import App


def __getattr__(name: str) -> Any:
    # `tmweb.App` without importing Starlette for `tmweb run`
    if name == "App":
        from .web.app import App

        return App
    raise AttributeError(name)


__all__ = ["App", "__version__"]
