"""The core library's built-in functions. Importing this package registers them all."""

from . import colls, control, numbers, serial, strings, sysio  # noqa: F401
from .registry import BY_SYMBOL, REGISTRY, builtin, register_python

__all__ = ["BY_SYMBOL", "REGISTRY", "builtin", "register_python"]
