"""What both serialization formats share: the atom extension codes and how atoms are
written and read, the corrupt-data error, the machine's special frames, and the load hooks
(struct types and `Serializable` / `Resource-Serializable` instances)."""

from __future__ import annotations

from typing import Any

from .. import errors
from ..code import BY_SYMBOL
from ..errors import TurmericError
from ..values import Keyword, StructType, Symbol

# extension type codes of references and atoms (format 2 adds its own from 8 on)
X_REF, X_KW, X_SYM, X_BIGINT, X_BUILTIN, X_STYPE, X_GLOBAL = 1, 2, 3, 4, 5, 6, 7


def corrupt(msg: str) -> TurmericError:
    return errors.err(errors.CORRUPT_DATA, msg)


_SPECIAL: dict[str, Any] = {}


def special_frames() -> dict[str, Any]:
    """The machine's delimiter and handler frames by symbol (imported late: the machine
    does not import the serializer, and this keeps it that way)."""
    if not _SPECIAL:
        from ..machine import SPECIAL

        _SPECIAL.update(SPECIAL)
    return _SPECIAL


def big_int_bytes(n: int) -> bytes:
    """An int beyond msgpack's 64 bits, as the data of an X_BIGINT atom."""
    return n.to_bytes(n.bit_length() // 8 + 1, "big", signed=True)


def builtin_atom(rt: Any, b: Any) -> tuple[int, bytes] | None:
    """How a built-in function is written, by name: a registered built-in (X_BUILTIN) or a
    module global (X_GLOBAL); None when neither finds it again, so it cannot be written."""
    if BY_SYMBOL.get(b.symbol) is b:
        return X_BUILTIN, b.symbol.encode()
    mod, _, name = b.symbol.rpartition(".")
    m = rt.modules.get(mod)
    if m is not None and name in m.cells and m.cells[name].value is b:
        return X_GLOBAL, b.symbol.encode()
    return None


def atom(rt: Any, code: int, data: bytes) -> Any:
    """An inline atom (keyword, symbol, big int, built-in, global, struct type) from its
    extension code and bytes; shared by both formats."""
    if code == X_BIGINT:
        if not data:
            raise corrupt("deserialize: empty big integer")
        return int.from_bytes(data, "big", signed=True)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise corrupt("deserialize: bad text in an atom") from None
    if code == X_KW:
        return Keyword(text)
    if code == X_SYM:
        return Symbol(text)
    if code == X_BUILTIN:
        b = BY_SYMBOL.get(text)
        if b is None:
            raise errors.err(errors.MISSING_FUNCTION, text)
        return b
    if code == X_GLOBAL:
        mod, _, name = text.rpartition(".")
        m = rt.modules.get(mod)
        if m is None:
            try:
                m = rt.load_module(mod, defs_only=True)
            except TurmericError:
                raise errors.err(errors.MISSING_FUNCTION, text) from None
        cell = m.cells.get(name)
        if cell is None or not cell.bound:
            raise errors.err(errors.MISSING_FUNCTION, text)
        return cell.value
    if code == X_STYPE:
        return struct_type(rt, text)
    raise corrupt(f"deserialize: unknown extension type {code}")


def struct_type(rt: Any, qualified: str) -> StructType:
    """The struct type `module.name`, loading its module definitions-only if needed."""
    t = rt.structs.get(qualified)
    if t is None:
        mod = qualified.rpartition(".")[0]
        if mod and mod not in rt.modules:
            try:
                rt.load_module(mod, defs_only=True)
            except TurmericError:
                pass
        t = rt.structs.get(qualified)
    if t is None:
        raise errors.err(errors.MISSING_FUNCTION, qualified)
    return t


def load_hook(rt: Any, resource: bool, label: Any, inner: Any) -> Any:
    """The value a `deserialize` (or, for a resource, `unmarshal`) instance makes of
    `inner`, the representation written for a value of type `label`."""
    if label.__class__ is not str:
        raise corrupt("deserialize: malformed custom value")
    key: Any = struct_type(rt, label) if "." in label else label
    if resource:
        cls, method = rt.resource_serializable, "unmarshal"
    else:
        cls, method = rt.serializable, "deserialize"
    impl = cls.impls[method].get(key)
    if impl is None:
        raise errors.err(errors.MISSING_FUNCTION, f"{cls.name} {method} for {label}")
    return rt.machine.apply(impl, (inner,))
