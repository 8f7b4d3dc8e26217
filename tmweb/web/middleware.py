"""The app's ASGI middlewares: security headers on every response, a request body limit,
and the session cookie that continuations are bound to.

Both are plain ASGI callables around another app, as Starlette's own middleware are, so they
work the same whether the tmweb app serves alone or is mounted in another one.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeSerializer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import RequestTooLarge
from .signing import MacKeys, b64decode, b64encode

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


class SessionCookie:
    """Gives every browser a session: a random id in a signed, `HttpOnly`, `SameSite=Lax`
    cookie (`Secure` over HTTPS, and always when `secure`). The id of a request (the cookie's,
    or a new one, then set on the response) is `scope["tmweb.session"]`; continuations are
    bound to it, so a stolen or forwarded URL does not work in another browser.

    The cookie has no Max-Age: it lives as long as the browser session. A forged or
    tampered cookie counts as none (a new session). Its value is URL-safe base64 of the id's
    16 bytes and their HMAC (signing.py); a cookie of the first format (itsdangerous's,
    with a dot) is still accepted, so an upgrade logs nobody out of their flows."""

    name = "tmweb_session"

    def __init__(self, app: ASGIApp, keys: list[str], secure: bool = False) -> None:
        self.app = app
        self.macs = MacKeys(keys, b"tmweb.session")
        # cookies of the first format: itsdangerous accepts every key of the list
        self.signer = URLSafeSerializer(list(reversed(keys)), salt="tmweb.session")
        self.secure = secure
        self._prefix = self.name + "="

    def session_of(self, scope: Scope) -> str | None:
        """The session id in the request's cookie, if it is genuine."""
        for key, value in scope.get("headers", []):
            if key != b"cookie":
                continue
            for part in value.decode("latin-1").split(";"):
                part = part.strip()
                if part.startswith(self._prefix):
                    return self.check(part[len(self._prefix) :])
        return None

    def make(self, sid: str) -> str:
        """The cookie value for session `sid` (32 hex digits)."""
        return b64encode(self.macs.sign(bytes.fromhex(sid)))

    def check(self, value: str) -> str | None:
        """The session id of a cookie value, or None if it is not genuine."""
        if "." in value:
            try:
                sid = self.signer.loads(value)
            except BadSignature:
                return None
            return sid if isinstance(sid, str) and len(sid) == 32 else None
        try:
            raw = self.macs.unsign(b64decode(value))
        except ValueError:
            return None
        return raw.hex() if raw is not None and len(raw) == 16 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sid = self.session_of(scope)
        new = sid is None
        if sid is None:
            sid = secrets.token_hex(16)
        scope["tmweb.session"] = sid
        if not new:
            await self.app(scope, receive, send)
            return
        path = scope.get("root_path", "") or "/"
        secure = self.secure or scope.get("scheme") == "https"
        cookie = f"{self.name}={self.make(sid)}; Path={path}; HttpOnly; SameSite=Lax"
        if secure:
            cookie += "; Secure"

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), (b"set-cookie", cookie.encode("latin-1"))]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_cookie)
