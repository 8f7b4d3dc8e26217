"""Type classes: `defclass` declares methods, `instance` implements them for a type.

A method is a built-in that dispatches on the type of its first argument: a struct's type,
or the name `type-of` gives a built-in type (`int64`, `string`, `FileHandle`...).
`Serializable` and `Resource-Serializable` are predeclared; the serializer asks
`find_impl` for their hooks.
"""

from __future__ import annotations

from typing import Any

from . import errors
from .code import MACHINE, Builtin, Closure, Continuation
from .values import FileHandle, Keyword, Ref, Struct, StructType, Symbol, TList, TMap, TVector

#: Names `instance` accepts for built-in types.
BUILTIN_TYPES = {
    "int64", "float64", "string", "bool", "nil", "keyword", "symbol", "bytes", "list",
    "vector", "map", "fn", "continuation", "ref", "FileHandle",
}  # fmt: skip


class TypeClass:
    """A class: its methods and, per method, the implementation for each type key."""

    __slots__ = ("name", "module", "methods", "impls")

    def __init__(self, name: str, module: str, methods: tuple[str, ...]) -> None:
        self.name = name
        self.module = module
        self.methods = methods
        self.impls: dict[str, dict[Any, Any]] = {m: {} for m in methods}

    def __repr__(self) -> str:
        return f"#<class {self.name}>"


def builtin_type_name(v: Any) -> str:
    """The `type-of` name of a non-struct value."""
    if v is None:
        return "nil"
    c = v.__class__
    return _NAMES.get(c) or ("fn" if callable(v) else c.__name__)


_NAMES: dict[type, str] = {
    bool: "bool", int: "int64", float: "float64", str: "string", bytes: "bytes",
    Keyword: "keyword", Symbol: "symbol", TList: "list", TVector: "vector", TMap: "map",
    Closure: "fn", Builtin: "fn", StructType: "fn", Continuation: "continuation",
    Ref: "ref", FileHandle: "FileHandle",
}  # fmt: skip


def type_key(v: Any) -> Any:
    """What instances are registered under: the StructType, or a built-in type's name."""
    if v.__class__ is Struct:
        return v.type
    return builtin_type_name(v)


def type_label(key: Any) -> str:
    return key.name if isinstance(key, StructType) else str(key)


def make_method(cls: TypeClass, method: str) -> Builtin:
    """The global function for one method: dispatch on the first argument's type."""
    table = cls.impls[method]

    def dispatch(M: Any, F: Any, args: tuple[Any, ...]) -> Any:
        if not args:
            return M.throw(F, errors.arity_error(method, f"{method}: expected at least 1 argument, got 0").value)
        impl = table.get(type_key(args[0]))
        if impl is None:
            label = type_label(type_key(args[0]))
            return M.throw(
                F, errors.type_error(f"{method}: no instance of {cls.name} for type {label}").value
            )
        return M.call(F, impl, args)

    return Builtin(method, dispatch, MACHINE, cls.module)


def defclass(module: Any, name: str, methods: tuple[str, ...]) -> Any:
    """Define class `name` and one dispatching global per method in `module`.

    Redeclaring a predeclared class (the seed does) changes nothing."""
    if name in PREDECLARED_METHODS:
        return None
    cls = TypeClass(name, module.name, methods)
    module.define(name, cls)
    for m in methods:
        module.define(m, make_method(cls, m))
    return cls


def add_instance(cls: Any, key: Any, impls: dict[str, Any]) -> None:
    """Register `impls` (method name -> function) for type `key` on `cls`."""
    if cls.__class__ is not TypeClass:
        raise errors.type_error(f"instance: {cls!r} is not a class declared with defclass")
    if isinstance(key, str) and key not in BUILTIN_TYPES:
        raise errors.type_error(f"instance: unknown type {key}")
    if not isinstance(key, (str, StructType)):
        raise errors.type_error(f"instance: {key!r} is not a type")
    for m, f in impls.items():
        if m not in cls.impls:
            raise errors.type_error(f"instance {cls.name}: {m} is not a method of {cls.name}")
        cls.impls[m][key] = f


def find_impl(cls: TypeClass, method: str, value: Any) -> Any:
    return cls.impls[method].get(type_key(value))


#: Classes every runtime has, each runtime its own (instances never leak between them).
PREDECLARED_METHODS = {
    "Serializable": ("serialize", "deserialize"),
    "Resource-Serializable": ("marshal", "unmarshal"),
}


def predeclared() -> dict[str, TypeClass]:
    return {name: TypeClass(name, "core", ms) for name, ms in PREDECLARED_METHODS.items()}
