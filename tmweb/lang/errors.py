"""Turmeric's error structs and the one Python exception that carries them.

Every user mistake is a `TurmericError` whose `value` is a Turmeric value (usually one of
the built-in error structs below, which `match` takes apart) and whose `trace` names the
Turmeric frames it unwound through. Anything else escaping the machine is a bug.
"""

from __future__ import annotations

from typing import Any

from .values import Pos, Struct, StructType

CORE = "core"


def _struct(name: str, *fields: str) -> StructType:
    return StructType(name, tuple(fields), CORE)


ERROR = _struct("error", "message")
TYPE_ERROR = _struct("type-error", "message")
UNBOUND_SYMBOL = _struct("unbound-symbol", "name")
ARITY_ERROR = _struct("arity-error", "name", "message")
MATCH_ERROR = _struct("match-error", "value")
SCHEMA_MISMATCH = _struct("schema-mismatch", "symbol", "old-version")
MISSING_FUNCTION = _struct("missing-function", "symbol")
CORRUPT_DATA = _struct("corrupt-data", "message")
NOT_SERIALIZABLE = _struct("not-serializable", "type-name", "path")
SYNTAX_ERROR = _struct("syntax-error", "message")
INDEX_ERROR = _struct("index-error", "message")
IO_ERROR = _struct("io-error", "message")
STEP_LIMIT = _struct("step-limit", "message")

#: Error structs exposed as globals of the core module, by name.
ERROR_TYPES: dict[str, StructType] = {
    t.name: t
    for t in (
        ERROR,
        TYPE_ERROR,
        UNBOUND_SYMBOL,
        ARITY_ERROR,
        MATCH_ERROR,
        SCHEMA_MISMATCH,
        MISSING_FUNCTION,
        CORRUPT_DATA,
        NOT_SERIALIZABLE,
        SYNTAX_ERROR,
        INDEX_ERROR,
        IO_ERROR,
        STEP_LIMIT,
    )
}


#: Starts the symbol of a trace entry that is a frame of a suspended continuation (the
#: handler waiting for the page that failed to build), not of the running code.
SUSPENDED_IN = "suspended in "


class TurmericError(Exception):
    """A Turmeric value thrown and not (yet) caught.

    `pos` is where it was raised, if known; `trace` is a list of (symbol, Pos | None) from
    the innermost frame outwards, filled in by the machine as it unwinds. `unwound` is set
    once the machine has unwound it to the bottom of the run that raised it, so that run
    lets it through; a nested run (`Machine.apply`) clears it, so the calling run goes on
    unwinding its own frames.
    """

    def __init__(self, value: Any, pos: Pos | None = None) -> None:
        self.value = value
        self.pos = pos
        self.trace: list[tuple[str, Pos | None]] = []
        self.unwound = False
        super().__init__(describe(value))

    @property
    def message(self) -> str:
        return describe(self.value)

    def format(self) -> str:
        """The message and the Turmeric stack trace, as printed for an uncaught error."""
        from .printer import pr_str

        v = self.value
        head = f"{v.type.name}: " if isinstance(v, Struct) and v.type is not ERROR else ""
        if not isinstance(v, Struct):
            head = "uncaught throw of "
        text = describe(v) if isinstance(v, Struct) else pr_str(v)
        lines = [f"error: {head}{text}"]
        if self.pos is not None and not self.trace and not text.startswith(str(self.pos)):
            lines.append(f"  at {self.pos}")
        for symbol, pos in self.trace:
            if symbol.startswith(SUSPENDED_IN):  # "suspended at shop.tm:12:5 in ask-address"
                name = symbol[len(SUSPENDED_IN):]
                lines.append(f"  suspended at {pos} in {name}" if pos else f"  suspended in {name}")
            else:
                lines.append(f"  at {symbol} ({pos})" if pos else f"  at {symbol}")
        return "\n".join(lines)


def describe(value: Any) -> str:
    """A one-line human description of a thrown value."""
    from .printer import pr_str

    if isinstance(value, Struct):
        t = value.type
        if t.fields == ("message",) or t is ERROR:
            m = value.vals[0]
            return m if isinstance(m, str) else pr_str(m)
        if t is UNBOUND_SYMBOL:
            return f"unbound symbol {value.vals[0]}"
        if t is ARITY_ERROR:
            return f"{value.vals[1]}"
        if t is MATCH_ERROR:
            return f"no match clause matches {pr_str(value.vals[0])}"
        if t is SCHEMA_MISMATCH:
            return (
                f"the code of {value.vals[0]} changed since this continuation was saved "
                f"(saved by program version {value.vals[1]})"
            )
        if t is MISSING_FUNCTION:
            return f"function {value.vals[0]} no longer exists"
        if t is NOT_SERIALIZABLE:
            return f"a value of type {value.vals[0]} cannot be serialized (found at {value.vals[1]})"
    return pr_str(value)


def err(t: StructType, *fields: Any, pos: Pos | None = None) -> TurmericError:
    return TurmericError(Struct(t, tuple(fields)), pos)


def type_error(message: str, pos: Pos | None = None) -> TurmericError:
    return err(TYPE_ERROR, message, pos=pos)


def arity_error(name: str, message: str, pos: Pos | None = None) -> TurmericError:
    return err(ARITY_ERROR, name, message, pos=pos)


def syntax_error(message: str, pos: Pos | None = None) -> TurmericError:
    text = f"{pos}: {message}" if pos is not None else message
    return err(SYNTAX_ERROR, text, pos=pos)


def unbound(name: str, pos: Pos | None = None) -> TurmericError:
    return err(UNBOUND_SYMBOL, name, pos=pos)


def user_error(message: str, pos: Pos | None = None) -> TurmericError:
    return err(ERROR, message, pos=pos)
