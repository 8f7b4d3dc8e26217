"""The web layer's errors: one base, each subclass carrying what its handler needs."""

from __future__ import annotations

from ..lang.machine import HostError


class TmwebError(Exception):
    """Base of every error the web framework raises on purpose."""


class StoreUnavailable(TmwebError, HostError):
    """The continuation store cannot be reached (Redis down, disk full...).

    Answered with 503; the store recovers by itself when the backend is back.
    """


class ConfigError(TmwebError):
    """The app cannot start as configured (no secret key in production, bad store URL...)."""


class ContinuationTooLarge(TmwebError):
    """A serialized continuation is over the configured size limit."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(
            f"the continuation to store is {size:,} bytes, over the limit of {limit:,} bytes; "
            "keep less state in the handler (store ids, not whole objects) or raise "
            "max_continuation_bytes"
        )
        self.size = size
        self.limit = limit
