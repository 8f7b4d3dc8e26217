"""The table of built-in functions and the decorator that fills it.

Built-ins are plain Python functions of Turmeric values. Those of kind PURE may be called
inline by compiled code; MACHINE ones receive the machine and the calling frame; ASYNC
ones return an awaitable that the driver awaits while the machine is paused.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from ..code import ASYNC, BY_SYMBOL, MACHINE, PURE, Builtin

__all__ = ["ASYNC", "MACHINE", "PURE", "REGISTRY", "builtin", "register_python"]

#: name -> Builtin, for the `core` module.
REGISTRY: dict[str, Builtin] = {}

F = TypeVar("F", bound=Callable[..., Any])


def builtin(
    name: str, kind: int = PURE, min_args: int | None = None, max_args: int | None = None
) -> Callable[[F], F]:
    """Register `fn` as the core built-in `name`."""

    def deco(fn: F) -> F:
        b = Builtin(name, fn, kind, "core", min_args, max_args)
        REGISTRY[name] = b
        BY_SYMBOL[b.symbol] = b
        return fn

    return deco


def register_python(symbol: str, fn: Callable[..., Any]) -> Builtin:
    """Expose a Python function to Turmeric under a stable dotted name (`myapp.fetch`).

    Async functions are detected and awaited by the driver without blocking the loop.
    The name is what serialized closures and continuations refer to, so keep it stable.
    """
    if "." not in symbol:
        raise ValueError(f"a Python function needs a dotted stable name like 'myapp.{symbol}'")
    module, _, name = symbol.rpartition(".")
    kind = ASYNC if inspect.iscoroutinefunction(fn) else PURE
    b = Builtin(name, fn, kind, module)
    BY_SYMBOL[b.symbol] = b
    return b
