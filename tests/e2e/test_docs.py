"""The examples in docs/continuations.md, docs/language.md and docs/workflows.md run as documented.

A doc shows programs as ```clojure blocks whose first line is `;; file: NAME`, then a
```sh block of `$ command` lines, each followed by the output it prints. This test replays
each sh block in a fresh folder holding the files the doc wrote since the previous sh
block, runs every command with bash (the installed `tmweb` command, or `python -m
tmweb.cli` when it is not on PATH), and compares what it prints with the doc, where `...`
in the doc stands for any text (versions, absolute paths).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)


@dataclass
class Session:
    """One sh block and the files written before it."""

    doc: str
    line: int
    files: dict[str, str]
    steps: list[tuple[str, list[str]]] = field(default_factory=list)  # (command, output)

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}"


def sessions(doc: str) -> list[Session]:
    text = (DOCS / doc).read_text(encoding="utf-8")
    out: list[Session] = []
    files: dict[str, str] = {}
    for m in FENCE.finditer(text):
        lang, body = m.group(1), m.group(2)
        first = body.split("\n", 1)[0]
        if lang == "clojure" and first.startswith(";; file: "):
            files[first.removeprefix(";; file: ").strip()] = body
        elif lang == "sh" and any(line.startswith("$ ") for line in body.splitlines()):
            s = Session(doc, text.count("\n", 0, m.start()) + 1, files)
            for line in body.splitlines():
                if line.startswith("$ "):
                    s.steps.append((line[2:], []))
                elif s.steps:
                    s.steps[-1][1].append(line)
            out.append(s)
            files = {}
    return out


ALL = [s for doc in ("continuations.md", "language.md", "workflows.md") for s in sessions(doc)]


def matches(expected: list[str], got: list[str]) -> bool:
    if len(expected) != len(got):
        return False
    for e, g in zip(expected, got):
        pattern = ".*".join(re.escape(part) for part in e.split("..."))
        if not re.fullmatch(pattern, g):
            return False
    return True


@pytest.fixture(scope="module")
def bindir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a `tmweb` command that runs this checkout's CLI."""
    d = tmp_path_factory.mktemp("bin")
    if shutil.which("tmweb") is None:
        script = d / "tmweb"
        script.write_text(f'#!/bin/sh\nexec {sys.executable} -m tmweb.cli "$@"\n')
        script.chmod(0o755)
    return d


@pytest.mark.parametrize("session", ALL, ids=str)
def test_doc_example_runs_as_documented(session: Session, tmp_path: Path, bindir: Path) -> None:
    for name, body in session.files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("TURMERIC_PATH", "CRASH_IN")}
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    for command, expected in session.steps:
        p = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        got = (p.stdout + p.stderr).splitlines()
        assert "Traceback" not in p.stderr, p.stderr
        assert matches(expected, got), (
            f"{session}: `{command}` printed:\n" + "\n".join(got) + "\nthe doc says:\n" + "\n".join(expected)
        )


def test_the_docs_have_examples_to_check() -> None:
    assert len(ALL) >= 10 and sum(len(s.steps) for s in ALL) >= 25
