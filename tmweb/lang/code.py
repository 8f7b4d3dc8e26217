"""Code objects, closures, built-in functions, frames and continuations.

A `Code` is one compiled Turmeric function, named by a stable symbol and versioned by a
hash of its compiled text. A frame is one activation - a list holding its function, a
resume point `pc`, its parent, the closure it runs and its local slots. Frames chain
through the parent; that chain *is* the Turmeric call stack. A `Continuation` is a captured tuple of frames, top first; it is
never run directly, only copied onto the stack by `resume`, so capturing is cheap and
resuming the same continuation twice is safe.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .values import Pos

#: Joins a derived code symbol to its parent (`shop.cart.total~fn#1`). The reader never puts
#: it in a symbol, so a derived symbol can never equal a top-level `module.NAME`, and the
#: part after the last one is always the leaf's own name.
NEST = "~"


class Code:
    """A compiled function: stable symbol, version, and the generated Python `fn`."""

    __slots__ = (
        "symbol",
        "version",
        "module",
        "name",
        "nparams",
        "rest",
        "nslots",
        "pad",
        "fn",
        "pos",
        "callpos",
        "linepos",
        "slot_names",
        "free_names",
        "source",
        "py_code",
        "nblocks",
        "fixed",
    )

    def __init__(
        self,
        symbol: str,
        module: str,
        name: str,
        nparams: int,
        rest: bool,
        nslots: int,
        pos: Pos | None,
    ) -> None:
        self.symbol = symbol
        self.version = ""
        self.module = module
        self.name = name
        self.nparams = nparams
        self.rest = rest
        self.nslots = nslots
        self.pad: list[Any] = []
        self.fn: Callable[..., Any] = _unset_fn
        self.pos = pos
        self.callpos: dict[int, Pos | None] = {}
        self.linepos: dict[int, Pos] = {}
        self.slot_names: list[str] = []
        self.free_names: list[str] = []
        self.source = ""
        self.py_code: Any = None
        self.nblocks = 1
        self.fixed = -1 if rest else nparams  # arity for the inline call fast path

    def __repr__(self) -> str:
        return f"#<code {self.symbol}>"


def _unset_fn(M: Any, F: Any, v: Any) -> Any:  # pragma: no cover - guards a compiler bug
    raise RuntimeError("code object used before it was compiled")


class Closure:
    """A function value: code plus the values (or boxes) of its free variables."""

    __slots__ = ("code", "env")

    def __init__(self, code: Code, env: tuple[Any, ...]) -> None:
        self.code = code
        self.env = env

    def __repr__(self) -> str:
        return f"#<fn {self.code.symbol}>"


# Kinds of built-in functions.
PURE = 0  # plain Python function of values; the compiler may call it inline
MACHINE = 1  # fn(M, F, args) -> next frame; needs the machine (shift, throw, resume...)
ASYNC = 2  # returns an awaitable; the machine pauses and the driver awaits it


class Builtin:
    """A Python function exposed to Turmeric under a stable name (`core.+`)."""

    __slots__ = ("name", "symbol", "fn", "kind", "min_args", "max_args")

    def __init__(
        self,
        name: str,
        fn: Callable[..., Any],
        kind: int = PURE,
        module: str = "core",
        min_args: int | None = None,
        max_args: int | None = None,
    ) -> None:
        self.name = name
        self.symbol = f"{module}.{name}"
        self.fn = fn
        self.kind = kind
        if min_args is None:
            min_args, max_args = _arity_of(fn) if kind != MACHINE else (0, None)
        self.min_args = min_args
        self.max_args = max_args

    def arity_ok(self, n: int) -> bool:
        return n >= self.min_args and (self.max_args is None or n <= self.max_args)

    def __repr__(self) -> str:
        return f"#<builtin {self.name}>"


#: stable symbol -> Builtin, for every built-in including Python functions that
#: applications register. builtins/registry.py fills it; the serializer names built-ins by
#: this symbol (it lives here, below both, so the serializer does not import the builtins).
BY_SYMBOL: dict[str, Builtin] = {}


def _arity_of(fn: Callable[..., Any]) -> tuple[int, int | None]:
    lo, hi = 0, 0
    for p in inspect.signature(fn).parameters.values():
        if p.kind == p.VAR_POSITIONAL:
            hi = None  # type: ignore[assignment]
        elif p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            if p.default is p.empty:
                lo += 1
            if hi is not None:
                hi += 1
    return lo, hi


# A frame is a plain Python list, the cheapest object CPython makes:
#     [fn, pc, parent, closure, slot0, slot1, ...]
# `fn` is the code's generated function, `pc` its resume point, `parent` the frame its
# value returns to, `closure` the function value it runs (code symbol, version and
# captured variables), then its local and pending-value slots.
FN, PC, PARENT, CLO, BASE = 0, 1, 2, 3, 4
Frame = list  # for type hints: a frame is a list laid out as above


def frame_code(fr: list[Any]) -> Code:
    """The code a frame runs."""
    return fr[CLO].code  # type: ignore[no-any-return]


def frame_slots(fr: list[Any]) -> list[Any]:
    """A frame's locals and pending values (a copy)."""
    return fr[BASE:]


class Continuation:
    """A captured stack segment, top frame first, up to (not including) its delimiter.

    `resumable` is False when it was captured at an error raised inside a primitive,
    where there is no resume point to return a value to.
    """

    __slots__ = ("frames", "resumable")

    def __init__(self, frames: tuple[list[Any], ...], resumable: bool = True) -> None:
        self.frames = frames
        self.resumable = resumable

    def __repr__(self) -> str:
        top = self.frames[0][CLO].code.symbol if self.frames else "empty"
        return f"#<continuation {top} depth={len(self.frames)}>"
