"""`serialize`, `deserialize` and `current-version`: the serializer as built-ins.

They receive the machine because hooks (`Serializable` instances) are Turmeric functions
and code lookup needs the runtime.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import serial
from ..code import MACHINE
from ..errors import TurmericError
from .registry import builtin


def _with_runtime(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """A one-argument built-in that needs the runtime; its errors are thrown in Turmeric."""

    def op(M: Any, F: Any, args: tuple[Any, ...]) -> Any:
        try:
            M.v = fn(M.rt, args[0])
        except TurmericError as e:
            return M.throw(F, e.value, e.pos)
        return F

    return op


builtin("serialize", MACHINE, 1, 1)(_with_runtime(serial.serialize))
builtin("deserialize", MACHINE, 1, 1)(_with_runtime(serial.deserialize))


@builtin("current-version", MACHINE, 0, 0)
def current_version(M: Any, F: Any, args: tuple[Any, ...]) -> Any:
    M.v = serial.program_version(M.rt)
    return F
