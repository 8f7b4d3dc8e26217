"""What the compiler tracks while it generates one function: where a value goes, and
where each variable lives.

These are shared by the compiler (compiler.py) and the special forms (special.py), which
import them from here so that neither needs the other's module.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class Kind(Enum):
    """Where a compiled expression's value goes."""

    VALUE = "value"  # the compiler hands back a Python expression for it
    EFFECT = "effect"  # it is computed for its effects and dropped
    TAIL = "tail"  # the function returns it (calls here are tail calls)
    JOIN = "join"  # it is assigned to `v` and control jumps to block `join`


class Ctx:
    """A destination: its kind, the block to jump to (JOIN), and the enclosing loop that
    `recur` jumps back to (TAIL and JOIN)."""

    __slots__ = ("kind", "join", "loop")

    def __init__(self, kind: Kind, join: int = -1, loop: Loop | None = None) -> None:
        self.kind = kind
        self.join = join
        self.loop = loop


#: The destinations that carry no block or loop.
VALUE = Ctx(Kind.VALUE)
EFFECT = Ctx(Kind.EFFECT)
TAIL = Ctx(Kind.TAIL)


class Local:
    """A variable in a slot of the function's own frame (`L[slot]`); `boxed` when some
    closure may `set!` it, so the slot holds a `Box` shared with that closure."""

    __slots__ = ("slot", "boxed", "name")

    def __init__(self, slot: int, boxed: bool, name: str) -> None:
        self.slot = slot
        self.boxed = boxed
        self.name = name


class Free:
    """A variable of an enclosing function, captured in the closure's env (`E[index]`)."""

    __slots__ = ("index", "boxed", "name")

    def __init__(self, index: int, boxed: bool, name: str) -> None:
        self.index = index
        self.boxed = boxed
        self.name = name


class SelfRef:
    """The name of a named `fn` inside its own body: the running closure (`F[3]`)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class Loop:
    """A `loop` (or a function body) that `recur` jumps to: its head block and slots."""

    __slots__ = ("head", "slots")

    def __init__(self, head: int, slots: list[Local]) -> None:
        self.head = head
        self.slots = slots


Var = Local | Free | SelfRef
Scope = dict[str, Any]

__all__ = ["Kind", "Ctx", "VALUE", "EFFECT", "TAIL", "Local", "Free", "SelfRef", "Loop", "Var", "Scope"]
