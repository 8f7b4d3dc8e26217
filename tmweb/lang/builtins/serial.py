"""`serialize`, `deserialize` and `current-version`: the serializer as built-ins.

They receive the machine because hooks (`Serializable` instances) are Turmeric functions
and code lookup needs the runtime.
"""

from __future__ import annotations

from typing import Any

from .. import serialize as S
from ..code import MACHINE
from ..errors import TurmericError
from .registry import builtin


@builtin("serialize", MACHINE, 1, 1)
def serialize(M: Any, F: Any, args: tuple[Any, ...]) -> Any:
    try:
        M.v = S.serialize(M.rt, args[0])
    except TurmericError as e:
        return M.throw(F, e.value, e.pos)
    return F


@builtin("deserialize", MACHINE, 1, 1)
def deserialize(M: Any, F: Any, args: tuple[Any, ...]) -> Any:
    try:
        M.v = S.deserialize(M.rt, args[0])
    except TurmericError as e:
        return M.throw(F, e.value, e.pos)
    return F


@builtin("current-version", MACHINE, 0, 0)
def current_version(M: Any, F: Any, args: tuple[Any, ...]) -> Any:
    M.v = S.program_version(M.rt)
    return F
