"""`layout` (tmweb/lang/serial/layout.py): what serialized bytes of either format hold,
read without loading any code, as `tmweb inspect` prints it."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from tmweb.lang import Runtime, TurmericError, serial
from tmweb.lang.code import Continuation
from tmweb.lang.serial import format1_write, format2_write

_fresh = itertools.count(1)

WRITERS = {"format2": serial.serialize, "format1": serial.serialize_format1}


def ev(rt: Runtime, src: str) -> Any:
    return rt.eval_text(src, rt.module(f"t_lay_{next(_fresh)}"))


@pytest.fixture(scope="module")
def k(rt: Runtime) -> Continuation:
    """A continuation of two frames with locals of several kinds."""
    src = """
    (defn inner-l [a] (let [b [a :kw "s"] c {:a a}] (+ a (cloneable-shift [k] k))))
    (defn outer-l [a] (* 2 (inner-l a)))
    (cloneable-reset (fn [] (outer-l 3)))
    """
    return ev(rt, src)  # type: ignore[no-any-return]


@pytest.mark.parametrize("writer", WRITERS)
def test_layout_shows_code_table_frames_and_sizes(rt: Runtime, k: Continuation, writer: str) -> None:
    data = WRITERS[writer](rt, k)
    lay = serial.layout(data)
    assert lay.format == serial.format_of(data)
    assert sum(n for _, n in lay.parts) == len(data)
    assert lay.frames is not None and len(lay.frames) == len(k.frames)
    syms = [lay.codes[f.code_index][0] for f in lay.frames]
    assert syms == [fr[3].code.symbol for fr in k.frames]
    assert lay.frames[0].slots[0] == "3"  # a = 3
    assert lay.program_version == serial.program_version(rt)


@pytest.mark.parametrize("writer", WRITERS)
def test_layout_of_a_plain_value(rt: Runtime, writer: str) -> None:
    data = WRITERS[writer](rt, ev(rt, "[1 2 3]"))
    lay = serial.layout(data)
    assert lay.frames is None and lay.codes == []


@pytest.mark.parametrize(
    "bad",
    [b"TMK\x02\x00\x00\x00\x00\x10\x00\x00\x00", format2_write.MAGIC + b"\x01\x00\x00\x00\x02\xc1\xc1",
     format1_write.MAGIC + b"\xc1", b"not ours", "not bytes"],
)  # fmt: skip
def test_layout_of_corrupt_bytes_is_corrupt_data(bad: Any) -> None:
    with pytest.raises(TurmericError) as info:
        serial.layout(bad)
    assert getattr(getattr(info.value.value, "type", None), "name", None) == "corrupt-data"


@pytest.mark.parametrize(
    "data, fmt",
    [(format1_write.MAGIC, 1), (format2_write.MAGIC + b"...", 2), (b"TMK\x03", None), (b"", None)],
)
def test_format_of_reads_the_magic_bytes(data: bytes, fmt: int | None) -> None:
    assert serial.format_of(data) == fmt


@pytest.mark.parametrize("writer", WRITERS)
def test_layout_of_truncated_bytes_is_corrupt_data(rt: Runtime, k: Continuation, writer: str) -> None:
    with pytest.raises(TurmericError) as info:
        serial.layout(WRITERS[writer](rt, k)[:12])
    assert getattr(getattr(info.value.value, "type", None), "name", None) == "corrupt-data"
