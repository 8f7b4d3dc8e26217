"""Shared helpers for the Turmeric table tests.

A `Runtime` takes a fraction of a second to build, so each test module shares one (the
module-scoped `rt` fixture) and every evaluation runs in a fresh Turmeric module of its
own, so definitions in one row never leak into another.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import settings

from tmweb.lang import Runtime, TurmericError, pr_str

_fresh = itertools.count(1)


class Err:
    """Expected outcome: evaluation raises a `TurmericError` whose value is a struct of
    the named error kind ("type-error", "match-error", ...). `match`, if given, is a
    substring the error message must contain."""

    def __init__(self, kind: str, match: str | None = None) -> None:
        self.kind = kind
        self.match = match

    def __repr__(self) -> str:
        return f"Err({self.kind!r})" if self.match is None else f"Err({self.kind!r}, {self.match!r})"


def fresh_module(rt: Runtime) -> Any:
    """A Turmeric module nobody else uses."""
    return rt.module(f"t_{next(_fresh)}")


def evaluate(rt: Runtime, src: str, file: str = "<string>") -> Any:
    """The value of the last form of `src`, evaluated in a fresh module."""
    return rt.eval_text(src, fresh_module(rt), file)


def run(rt: Runtime, src: str) -> str:
    """`pr_str` of the value of the last form of `src`, evaluated in a fresh module."""
    return pr_str(evaluate(rt, src))


def error_kind(e: TurmericError) -> str | None:
    """The error kind of a raised Turmeric error: its struct type's name."""
    t = getattr(e.value, "type", None)
    return getattr(t, "name", None)


def raises(rt: Runtime, src: str, file: str = "<string>") -> TurmericError:
    """Evaluate `src` and return the `TurmericError` it must raise."""
    with pytest.raises(TurmericError) as info:
        evaluate(rt, src, file)
    return info.value


def check(rt: Runtime, src: str, expected: str | Err) -> None:
    """Assert one table row: `expected` is the printed value or an `Err` marker."""
    if isinstance(expected, Err):
        e = raises(rt, src)
        assert error_kind(e) == expected.kind, f"{src!r} raised {e.format()}"
        if expected.match is not None:
            assert expected.match in e.message, f"{src!r} raised {e.format()}"
    else:
        try:
            got = run(rt, src)
        except TurmericError as e:  # pragma: no cover - shown on failure only
            pytest.fail(f"{src!r} raised {e.format()}")
        assert got == expected, src


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return Runtime()


def decoders() -> list[tuple[str, Any]]:
    """The format-2 decoders to run tests under, as (id, value for format2_read.DECODE):
    the C decoder where it was built (serial/test_decode.py fails in CI when it was not), and
    msgpack's Unpacker (DECODE = None), what a machine without a C compiler uses."""
    from tmweb.lang.serial import format2_read

    built = [("c", format2_read._decode.decode)] if format2_read._decode is not None else []
    return [*built, ("py", None)]


def examples(share: float) -> int:
    """`share` times the current Hypothesis profile's `max_examples` (dev 100, ci 1,000;
    tests/conftest.py): what a property that is cheaper or dearer than most runs."""
    return max(1, round(settings().max_examples * share))
