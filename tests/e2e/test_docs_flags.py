"""Every flag of every `tmweb` command is in README.md's command table, and the flags of
`tmweb serve` and `tmweb inspect` in their sections of docs/web.md."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from tmweb.cli import build_parser

REPO = Path(__file__).resolve().parents[2]


def commands() -> dict[str, list[str]]:
    """Each subcommand and its long option strings (not -h/--help)."""
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return {
        name: [o for a in p._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
        for name, p in sub.choices.items()
    }


def readme_row(command: str) -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows = [line for line in text.splitlines() if line.startswith(f"| `tmweb {command}")]
    assert len(rows) == 1, f"README.md's command table has no single row for tmweb {command}"
    return rows[0]


def web_md_section(heading: str) -> str:
    text = (REPO / "docs" / "web.md").read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, f"docs/web.md has no section {heading!r}"
    return m.group(1)


@pytest.mark.parametrize("command", sorted(commands()))
def test_the_readme_table_lists_every_flag(command: str) -> None:
    row = readme_row(command)
    missing = [flag for flag in commands()[command] if f"[{flag}" not in row]
    assert not missing, f"README.md's row for tmweb {command} lacks {missing}"


@pytest.mark.parametrize(
    ("command", "heading"), [("serve", "`tmweb serve`"), ("inspect", "Inspecting a stored continuation")]
)
def test_docs_web_md_explains_every_flag(command: str, heading: str) -> None:
    section = web_md_section(heading)
    missing = [flag for flag in commands()[command] if not re.search(rf"\| `{re.escape(flag)}[ `]", section)]
    assert not missing, f"docs/web.md, {heading}, has no table row for {missing}"


def test_the_commands_have_flags_to_check() -> None:
    flags = commands()
    assert {"--root", "--secret-key", "--store"} <= set(flags["inspect"])
    assert {"--secret-key", "--no-session-binding", "--import"} <= set(flags["serve"])
