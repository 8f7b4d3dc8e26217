"""`serialize(rt, v, max_bytes)`: a value over the limit fails while it is being written,
not after (issue 11, finding 6), and a value within it is written exactly as without one."""

from __future__ import annotations

import pytest

from tmweb.lang import Runtime
from tmweb.lang.serial import TooLarge, serialize

VALUES = [
    "42",
    '"a string"',
    "[1 2 3]",
    "{:a [1 {:b 2}] :c (list 1 2)}",
    "(mapv (fn [i] {:i i :s (str i)}) (range 50))",
    "(cloneable-reset (fn [] (+ 1 (cloneable-shift [k] k))))",
    "(let [r (ref 1)] [r r])",
]


@pytest.fixture(scope="module")
def rt() -> Runtime:
    return Runtime()


@pytest.mark.parametrize("src", VALUES)
def test_a_value_within_the_limit_is_written_as_without_one(rt: Runtime, src: str) -> None:
    v = rt.eval_text(src, rt.module("user"))
    full = serialize(rt, v)
    assert serialize(rt, v, len(full)) == full
    with pytest.raises(TooLarge) as e:
        serialize(rt, v, len(full) - 1)
    assert e.value.limit == len(full) - 1


def test_a_huge_value_stops_soon_after_the_limit(rt: Runtime) -> None:
    v = rt.eval_text("(mapv (fn [i] {:i i :s (str \"x\" i)}) (range 20000))", rt.module("user"))
    full = serialize(rt, v)
    limit = 10_000
    with pytest.raises(TooLarge) as e:
        serialize(rt, v, limit)
    # it stopped within one small payload of the limit, long before the whole value
    assert limit < e.value.written < limit + 100 < len(full)
    assert serialize(rt, v) == full  # the writer is usable again afterwards
