"""The app's two ASGI middlewares: security headers on every response, a request body limit.

Both are plain ASGI callables around another app, as Starlette's own middleware are, so they
work the same whether the tmweb app serves alone or is mounted in another one.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import RequestTooLarge

#: What every response carries unless it sets the header itself: a continuation URL never
#: leaks to another site through `Referer`, and browsers never sniff a content type.
SECURITY_HEADERS = {"referrer-policy": "same-origin", "x-content-type-options": "nosniff"}


class SecurityHeaders:
    """Adds `headers` to every HTTP response that does not already set them."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] = SECURITY_HEADERS) -> None:
        self.app = app
        self.headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Counts the request body as the app reads it: a read past `max_bytes`, or any read of
    a body whose Content-Length is over it, raises `RequestTooLarge` in the endpoint,
    which the app answers with its 413 page.

    A body nobody reads costs nothing and is never refused, so an endpoint decides what
    comes first (a token check answers 400 before the body is read). Unlike Starlette's
    own `max_body_size`, the answer is the app's page, not a plain-text 413 in place of
    whatever the endpoint answered.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        declared_over = length.isdigit() and int(length) > self.max_bytes
        received = 0

        async def receive_within_limit() -> Message:
            nonlocal received
            if declared_over:
                raise RequestTooLarge(self.max_bytes)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge(self.max_bytes)
            return message

        await self.app(scope, receive_within_limit, send)
