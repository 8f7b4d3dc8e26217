"""The arguments every store checks the same way before touching its backend."""

from __future__ import annotations


def check_ttl(ttl: int) -> None:
    """Raise `ValueError` unless `ttl` is a positive number of seconds."""
    if ttl <= 0:
        raise ValueError(f"ttl must be a positive number of seconds, not {ttl!r}")


def check_flow(flow: str | None) -> None:
    """Raise `ValueError` unless `flow` is None or a flow id: a non-empty string without
    braces (on Redis the id is a `{flow}` hash tag, which a brace would cut short)."""
    if flow is None:
        return
    if not isinstance(flow, str) or not flow or "{" in flow or "}" in flow:
        raise ValueError(f"a flow id is a non-empty string without braces, not {flow!r}")
