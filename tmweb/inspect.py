"""`tmweb inspect FILE`: show what a serialized value holds without running it."""

from __future__ import annotations

from typing import Any

from .lang import serialize as S
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


def _raw_short(x: Any) -> str:
    i = S.ref_index(x)
    if i is not None:
        return f"#<object {i}>"
    text = S.raw_text(x)
    return text if text is not None else short(x)


_size = S.packed_size


def describe(data: bytes, rt: Any) -> str:
    """A readable report of a serialized value: envelope, frames (top first), sizes."""
    prog, codes, objects, root = S.unpack_envelope(data)
    out = [
        f"format:          {S.FORMAT}",
        f"program version: {prog}",
        f"size:            {len(data)} bytes "
        f"(envelope {len(data) - _size(codes) - _size(objects) - _size(root)}, "
        f"code table {_size(codes)}, objects {_size(objects)}, root {_size(root)})",
        f"code table:      {len(codes) // 2} entr{'y' if len(codes) == 2 else 'ies'}",
    ]
    for i in range(0, len(codes), 2):
        out.append(f"  [{i // 2}] {codes[i]}  version {codes[i + 1]}")
    value: Any = None
    note = ""
    try:
        value = S.deserialize(rt, data)
    except TurmericError as e:
        note = f"(cannot load with the current code: {e.message})"
    root_rec = _root_record(root, objects)
    if root_rec is not None and root_rec[0] == S.R_CONT:
        frames = [objects[S.ref_index(r) or 0] for r in root_rec[2:]]
        loaded = value.frames if isinstance(value, Continuation) else None
        out.append(f"continuation:    {len(frames)} frame{'s' if len(frames) != 1 else ''}, top first"
                   + ("" if root_rec[1] else " (not resumable)"))
        if note:
            out.append(f"  {note}")
        for n, rec in enumerate(frames):
            sym = codes[2 * rec[1]]
            size = _size(rec)
            if loaded is not None:
                fr = loaded[n]
                code = frame_code(fr)
                pos = code.callpos.get(fr[PC]) or code.pos
                out.append(f"  #{n} {sym}  at {pos if pos else '?'}  resume point {fr[PC]}  ({size} bytes)")
                for j, v in enumerate(frame_slots(fr)):
                    name = code.slot_names[j] if j < len(code.slot_names) else f"slot{j}"
                    if name.startswith("%"):
                        name = f"<pending {j}>"
                    out.append(f"      {name} = {short(v)}")
            else:
                out.append(f"  #{n} {sym}  resume point {rec[2]}  ({size} bytes)")
                for j, x in enumerate(rec[4:]):
                    out.append(f"      slot{j} = {_raw_short(x)}")
    else:
        out.append(f"value:           {short(value, 200) if not note else note}")
    out.append(f"objects:         {len(objects)} records")
    return "\n".join(out)


def _root_record(root: Any, objects: list[Any]) -> list[Any] | None:
    i = S.ref_index(root)
    if i is not None and i < len(objects):
        return objects[i]  # type: ignore[no-any-return]
    return None
