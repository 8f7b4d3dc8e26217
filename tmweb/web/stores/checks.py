"""The arguments every store checks the same way before touching its backend."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True, slots=True)
class OwnerLimits:
    """How much one owner (a browser session) may keep in a store: at most `max_records`
    live records and `max_bytes` bytes of them. A put over either evicts the owner's
    records closest to expiring (with one TTL for all, the oldest) until both are back
    under 15/16 of the budget (`low_records`, `low_bytes`), so a session at its limit pays
    for an eviction once per sixteenth of its budget rather than on every save; the record
    just put is kept."""

    max_records: int = 500
    max_bytes: int = 8 << 20

    def __post_init__(self) -> None:
        if self.max_records < 1 or self.max_bytes < 1:
            raise ValueError(
                f"a session budget needs at least 1 record and 1 byte, not "
                f"{self.max_records} records and {self.max_bytes} bytes"
            )

    @property
    def low_records(self) -> int:
        """How many records an eviction leaves at most."""
        return self.max_records - self.max_records // 16

    @property
    def low_bytes(self) -> int:
        """How many bytes an eviction leaves at most."""
        return self.max_bytes - self.max_bytes // 16


def check_owner(owner: str | None) -> None:
    """Raise `ValueError` unless `owner` is None or a non-empty string without braces."""
    if owner is None:
        return
    if not isinstance(owner, str) or not owner or "{" in owner or "}" in owner:
        raise ValueError(f"an owner id is a non-empty string without braces, not {owner!r}")
