"""Turmeric: a small Clojure-like Lisp whose delimited continuations are plain data."""

from __future__ import annotations

from .builtins.registry import register_python
from .code import Builtin, Closure, Code, Continuation, Frame, frame_code, frame_slots
from .errors import TurmericError
from .machine import Machine, StepLimitExceeded
from .printer import pr_str, to_str
from .reader import read_all, read_one
from .runtime import Runtime
from .values import EMPTY, Keyword, Pos, Ref, Struct, StructType, Symbol, TList, TMap, TVector

__all__ = [
    "EMPTY",
    "Builtin",
    "Closure",
    "Code",
    "Continuation",
    "Frame",
    "frame_code",
    "frame_slots",
    "Keyword",
    "Machine",
    "Pos",
    "Ref",
    "Runtime",
    "StepLimitExceeded",
    "Struct",
    "StructType",
    "Symbol",
    "TList",
    "TMap",
    "TVector",
    "TurmericError",
    "pr_str",
    "read_all",
    "read_one",
    "register_python",
    "to_str",
]
