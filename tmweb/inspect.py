"""`tmweb inspect FILE`: show what a serialized value holds without running it."""

from __future__ import annotations

from typing import Any

from .lang import serial
from .lang.code import PC, Continuation, frame_code, frame_slots
from .lang.errors import TurmericError
from .lang.printer import pr_str

SHORT = 60


def short(v: Any, width: int = SHORT) -> str:
    try:
        s = pr_str(v)
    except Exception:  # pragma: no cover - printing never fails on loaded values
        s = f"#<{type(v).__name__}>"
    return s if len(s) <= width else s[: width - 3] + "..."


def describe(data: bytes, rt: Any) -> str:
    """A readable report of a serialized value: envelope, frames (top first), sizes."""
    lay = serial.layout(data)
    parts = ", ".join(f"{name} {n}" for name, n in lay.parts)
    out = [
        f"format:          {lay.format}",
        f"program version: {lay.program_version}",
        f"size:            {len(data)} bytes ({parts})",
        f"code table:      {len(lay.codes)} entr{'y' if len(lay.codes) == 1 else 'ies'}",
    ]
    for i, (sym, ver) in enumerate(lay.codes):
        out.append(f"  [{i}] {sym}  version {ver}")
    value: Any = None
    note = ""
    try:
        value = serial.deserialize(rt, data)
    except TurmericError as e:
        note = f"(cannot load with the current code: {e.message})"
    if lay.frames is not None:
        frames = lay.frames
        loaded = value.frames if isinstance(value, Continuation) else None
        out.append(
            f"continuation:    {len(frames)} frame{'s' if len(frames) != 1 else ''}, top first"
            + ("" if lay.resumable else " (not resumable)")
        )
        if note:
            out.append(f"  {note}")
        for n, raw in enumerate(frames):
            ci = raw.code_index
            sym = lay.codes[ci][0] if isinstance(ci, int) and 0 <= ci < len(lay.codes) else "?"
            if loaded is not None:
                fr = loaded[n]
                code = frame_code(fr)
                pos = code.callpos.get(fr[PC]) or code.pos
                out.append(
                    f"  #{n} {sym}  at {pos if pos else '?'}  resume point {fr[PC]}  ({raw.size} bytes)"
                )
                out.extend(_slots(code, fr))
            else:
                out.append(f"  #{n} {sym}  resume point {raw.pc}  ({raw.size} bytes)")
                for j, text in enumerate(raw.slots):
                    out.append(f"      slot{j} = {text}")
    elif getattr(getattr(value, "type", None), "name", None) == "%step":
        # what send/suspend stores: the continuation, its page function, how it resumes
        k, page, method = value.vals
        out.append(f"step:            resumed by {method}; page built by {short(page)}")
        frames = k.frames if isinstance(k, Continuation) else ()
        out.append(f"continuation:    {len(frames)} frame{'s' if len(frames) != 1 else ''}, top first")
        for n, fr in enumerate(frames):
            code = frame_code(fr)
            pos = code.callpos.get(fr[PC]) or code.pos
            out.append(f"  #{n} {code.symbol}  at {pos if pos else '?'}  resume point {fr[PC]}")
            out.extend(_slots(code, fr))
    else:
        out.append(f"value:           {short(value, 200) if not note else note}")
    out.append(f"objects:         {lay.objects}")
    return "\n".join(out)


def _slots(code: Any, fr: Any) -> list[str]:
    out = []
    for j, v in enumerate(frame_slots(fr)):
        name = code.slot_names[j] if j < len(code.slot_names) else f"slot{j}"
        if name.startswith("%"):
            name = f"<pending {j}>"
        out.append(f"      {name} = {short(v)}")
    return out
