"""Each bench script owns one marked section of docs/benchmarks.md and rewrites only it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
HEADER = "# Benchmarks\n\n"


def machine_info() -> str:
    """The machine a table was measured on, for its caption."""
    return (
        f"{platform.system()} {platform.release()} {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or 'unknown processor'}; "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def write_section(name: str, title: str, body: str, path: Path = DOC) -> None:
    """Replace the text between `<!-- name:start -->` and `<!-- name:end -->`, or append
    the section under `## title`; nothing else in the file changes."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    block = f"{start}\n{body.rstrip(chr(10))}\n{end}"
    if path.exists():
        text = path.read_text(encoding="utf-8")
        i, j = text.find(start), text.find(end)
        if i != -1 and j > i:
            text = text[:i] + block + text[j + len(end) :]
        else:
            text = text.rstrip("\n") + f"\n\n## {title}\n\n{block}\n"
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = HEADER + f"## {title}\n\n{block}\n"
    path.write_text(text, encoding="utf-8")
