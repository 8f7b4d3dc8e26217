"""Modules, global cells and the registry of compiled code by stable symbol.

A module is named by its path under its root (`shop/cart.tm` is `shop.cart`). Its globals
are `Cell`s that compiled code holds directly. The code registry maps every function's
stable symbol to its `Code`, which is how a deserialized frame finds its code again.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .code import Closure, Code
from .gensyms import GensymCounter


class Unbound:
    """The value of a global that was referenced but never defined."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"#<unbound {self.name}>"


class Cell:
    """A module global. Compiled code keeps the cell and reads `.value`."""

    __slots__ = ("value", "name", "module")

    def __init__(self, name: str, module: str, value: Any = None) -> None:
        self.name = name
        self.module = module
        self.value = Unbound(name) if value is None else value

    @property
    def bound(self) -> bool:
        return self.value.__class__ is not Unbound

    def __repr__(self) -> str:
        return f"#<cell {self.module}.{self.name}>"


@dataclass
class Module:
    """One Turmeric module: globals, macros and the modules it imported."""

    name: str
    path: str | None = None
    cells: dict[str, Cell] = field(default_factory=dict)
    macros: dict[str, Closure] = field(default_factory=dict)
    aliases: dict[str, Module] = field(default_factory=dict)
    codes: dict[str, Code] = field(default_factory=dict)
    toplevel_names: set[str] = field(default_factory=set)
    unresolved: dict[str, Any] = field(default_factory=dict)  # name -> Pos of first use
    defs_only: bool = False
    #: numbers the fresh names its macros and derived forms make (see gensyms.py)
    gensyms: GensymCounter = field(default_factory=GensymCounter)
    form_hash: str = ""  # of the module's forms as read (for the program version)

    def cell(self, name: str) -> Cell:
        c = self.cells.get(name)
        if c is None:
            c = self.cells[name] = Cell(name, self.name)
        return c

    def define(self, name: str, value: Any) -> Cell:
        c = self.cell(name)
        c.value = value
        return c

    def unbound_names(self) -> list[str]:
        return sorted(n for n, c in self.cells.items() if not c.bound)


def module_name_for(path: str, root: str) -> str:
    """`root/shop/cart.tm` -> `shop.cart`."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel.endswith(".tm"):
        rel = rel[:-3]
    return ".".join(p for p in rel.split(os.sep) if p)


def valid_module_name(name: str) -> bool:
    """`shop.cart`: dot-separated parts, none empty, none a path. Names come from code and
    from deserialized bytes, so a name must never reach outside the module path."""
    parts = name.split(".")
    return bool(name) and all(
        p and p not in (".", "..") and "/" not in p and "\\" not in p and "\0" not in p and ":" not in p
        for p in parts
    )


def find_module_file(name: str, roots: list[str]) -> str | None:
    """The file for module `name` on the module path, or None."""
    if not valid_module_name(name):
        return None
    rel = os.path.join(*name.split(".")) + ".tm"
    for root in roots:
        p = os.path.join(root, rel)
        if os.path.isfile(p):
            return p
    return None


def find_modules(root: str) -> list[str]:
    """Every .tm file under root, in a stable order, skipping hidden folders (tmweb's own
    `.tmweb/` state among them) and `__pycache__`."""
    out = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "__pycache__")
        out.extend(os.path.join(folder, f) for f in sorted(files) if f.endswith(".tm"))
    return out


def default_roots(main_dir: str | None) -> list[str]:
    """The module path: the main file's folder, the current folder, TURMERIC_PATH."""
    roots: list[str] = []
    if main_dir:
        roots.append(os.path.abspath(main_dir))
    roots.append(os.path.abspath(os.getcwd()))
    for p in os.environ.get("TURMERIC_PATH", "").split(os.pathsep):
        if p:
            roots.append(os.path.abspath(p))
    seen: list[str] = []
    for r in roots:
        if r not in seen:
            seen.append(r)
    return seen
