"""The web layer's errors: one base, each subclass carrying what its handler needs.

The app answers each of them with one of tmweb's pages (registered as Starlette exception
handlers in app.py), so an endpoint raises and never builds an error page itself.
"""

from __future__ import annotations

from typing import Any

from ..lang.errors import TurmericError
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
            f"the continuation to store is over the limit of {limit:,} bytes ({size:,} bytes "
            "written when it stopped); "
            "keep less state in the handler (store ids, not whole objects) or raise "
            "max_continuation_bytes"
        )
        self.size = size
        self.limit = limit


class ContinuationInvalid(TmwebError):
    """The token was not made by this server (tampered, truncated, signed with an unknown
    key). Answered with 400; the store was not touched."""


class ContinuationExpired(TmwebError):
    """Nothing can be resumed under this token: it is older than its time to live, or the
    store has nothing under it (expired, unknown, a one-shot already used, or its flow was
    finished or forwarded past). Answered with 410.

    `record` is what the genuine token said (its flow and where the flow started), for a
    page that links back; None if not known. `completed` is true when the token was still
    within its time to live, so the step was used up rather than timed out."""

    def __init__(self, message: str, record: Any = None, completed: bool = False) -> None:
        super().__init__(message)
        self.record = record
        self.completed = completed


class ContinuationForbidden(TmwebError):
    """The continuation is bound to another browser session than the request's. Answered
    with 403; it stays usable by its owner. `record` is what the token said."""

    def __init__(self, message: str, record: Any = None) -> None:
        super().__init__(message)
        self.record = record


class ContinuationUnloadable(ContinuationExpired):
    """The stored continuation cannot be loaded by the running program (the code of one of
    its frames changed or is gone, or the bytes are damaged). `error` is the Turmeric error
    that says why, or None if the stored value is not a continuation. Answered with 410,
    and logged."""

    def __init__(self, message: str, error: TurmericError | None = None) -> None:
        super().__init__(message)
        self.error = error
        self.record = None
        self.completed = False


class RequestTooLarge(TmwebError):
    """The request body is over `limit` bytes (by its Content-Length or as it was read).
    Answered with 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is over the limit of {limit:,} bytes")
        self.limit = limit
