"""A small HTTP/1.1 keep-alive client on plain asyncio, for load generation.

httpx spends most of a core on its own bookkeeping at a few hundred flows per second, so
it measured itself, not the servers (issue 12). This client does only what a browser
does on one origin, and little else:

- one keep-alive connection per `Browser`, one request at a time on it (no pipelining),
  reopened if the server closes it;
- bodies by `Content-Length`, `Transfer-Encoding: chunked`, or read to the close;
- cookies per `Browser` from `Set-Cookie` (name, value, `Path`, `Max-Age`/`Expires` in the
  past deletes); `Secure` cookies are sent too, as browsers do to `localhost` (a
  "potentially trustworthy" origin) and this client only talks to the loopback;
- redirects: 301/302/303 become a GET without a body, 307/308 repeat the method.

Standard library only; each request's latency (send to last body byte) goes into a
`Stats` by method.
"""

from __future__ import annotations

import asyncio
import html
import re
import time
from array import array
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode, urljoin, urlsplit

_ACTION = re.compile(rb'<form[^>]*\saction="([^"]*)"', re.IGNORECASE)
_HREF = re.compile(rb'<a[^>]*\shref="([^"]*)"', re.IGNORECASE)
#: How many redirects in a row a navigation follows before it is called a loop.
MAX_REDIRECTS = 10


class HTTPError(Exception):
    """The server said something this client cannot read, or a flow went wrong."""


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in order
    body: bytes
    url: str  # the path this response answers (after redirects)

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k == name:
                return v
        return None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Stats:
    """Latencies in seconds by method (compact arrays, so 100,000 flows stay small)."""

    latencies: dict[str, array] = field(default_factory=dict)
    recording: bool = True

    def add(self, method: str, seconds: float) -> None:
        if self.recording:
            self.latencies.setdefault(method, array("d")).append(seconds)


class _Connection(asyncio.Protocol):
    """One TCP connection that parses the responses to the requests sent on it."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[int, list[tuple[str, str]], bytes]] | None = None
        self.closed = False
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[str, str]] = []
        self.mode = "head"  # head, length, chunk-size, chunk-data, close
        self.left = 0
        self.body = bytearray()
        self.keep_alive = True
        self.no_body = False

    # -- asyncio callbacks ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        try:
            self._parse()
        except HTTPError as e:
            self._fail(e)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            if self.mode == "close":
                self._finish()
            else:
                self._fail(HTTPError(f"connection closed mid-response ({exc or 'EOF'})"))

    # -- requests ---------------------------------------------------------------------------

    def send(self, data: bytes, no_body: bool) -> asyncio.Future[tuple[int, list[tuple[str, str]], bytes]]:
        assert self.transport is not None and self.waiter is None
        self._reset()
        self.no_body = no_body
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return self.waiter

    def _fail(self, e: Exception) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(e)
        self.waiter = None
        if self.transport is not None:
            self.transport.close()

    def _finish(self) -> None:
        waiter, self.waiter = self.waiter, None
        if not self.keep_alive and self.transport is not None:
            self.transport.close()
            self.closed = True
        if waiter is not None and not waiter.done():
            waiter.set_result((self.status, self.headers, bytes(self.body)))

    def _parse(self) -> None:
        buf = self.buf
        while self.waiter is not None:
            if self.mode == "head":
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                self._head(bytes(buf[:end]))
                del buf[: end + 4]
            elif self.mode == "length":
                if len(buf) < self.left:
                    return
                self.body += buf[: self.left]
                del buf[: self.left]
                self._finish()
            elif self.mode == "chunk-size":
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                line = bytes(buf[:end]).split(b";", 1)[0].strip()
                del buf[: end + 2]
                try:
                    self.left = int(line, 16)
                except ValueError:
                    raise HTTPError(f"bad chunk size {line!r}") from None
                self.mode = "chunk-data" if self.left else "trailer"
            elif self.mode == "chunk-data":
                if len(buf) < self.left + 2:
                    return
                self.body += buf[: self.left]
                del buf[: self.left + 2]
                self.mode = "chunk-size"
            elif self.mode == "trailer":  # trailer fields (ignored), then an empty line
                end = buf.find(b"\r\n")
                if end < 0:
                    return
                del buf[: end + 2]
                if end == 0:
                    self._finish()
            else:  # "close": the body runs to the end of the connection
                self.body += buf
                buf.clear()
                return

    def _head(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
            raise HTTPError(f"bad status line {lines[0]!r}")
        self.status = int(parts[1])
        headers = self.headers
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HTTPError(f"bad header line {line!r}")
            headers.append((name.strip().lower(), value.strip()))
        length = None
        chunked = False
        for name, value in headers:
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                chunked = value.lower().endswith("chunked")
            elif name == "connection":
                self.keep_alive = value.lower() != "close"
        if parts[0] == "HTTP/1.0":
            self.keep_alive = False
        if self.no_body or self.status in (204, 304) or 100 <= self.status < 200:
            self._finish()
        elif chunked:
            self.mode = "chunk-size"
        elif length is not None:
            self.mode, self.left = "length", length
        else:
            self.mode, self.keep_alive = "close", False


class Browser:
    """One simulated user: its own connection and cookie jar, on one origin."""

    def __init__(self, host: str, port: int, stats: Stats | None = None, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.stats = stats if stats is not None else Stats()
        #: name -> (value, path)
        self.cookies: dict[str, tuple[str, str]] = {}
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._conn: _Connection | None = None

    async def close(self) -> None:
        if self._conn is not None and self._conn.transport is not None:
            self._conn.transport.close()
        self._conn = None

    async def request(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        """One request, no redirect followed; its latency goes into `stats`."""
        body = urlencode(form).encode() if form is not None else b""
        head = f"{method} {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\n{self.extra}"
        cookie = self._cookie_header(path)
        if cookie:
            head += f"cookie: {cookie}\r\n"
        if form is not None:
            head += "content-type: application/x-www-form-urlencoded\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"content-length: {len(body)}\r\n"
        data = head.encode("latin-1") + b"\r\n" + body
        loop = asyncio.get_running_loop()
        conn = self._conn
        if conn is None or conn.closed or conn.transport is None or conn.transport.is_closing():
            _, conn = await loop.create_connection(_Connection, self.host, self.port)
            self._conn = conn
        t0 = time.perf_counter()
        status, headers, content = await conn.send(data, no_body=method == "HEAD")
        self.stats.add(method, time.perf_counter() - t0)
        for name, value in headers:
            if name == "set-cookie":
                self._set_cookie(value)
        return Response(status, headers, content, path)

    async def navigate(self, method: str, path: str, form: dict[str, str] | None = None) -> Response:
        """A request as a browser makes it: redirects followed, cookies kept."""
        path = self._same_origin(path)
        for _ in range(MAX_REDIRECTS + 1):
            r = await self.request(method, path, form)
            if r.status not in (301, 302, 303, 307, 308):
                return r
            location = r.header("location")
            if location is None:
                raise HTTPError(f"{r.status} from {method} {path} without a Location")
            path = self._same_origin(urljoin(path, location))
            if r.status in (301, 302, 303) and method != "HEAD":
                method, form = "GET", None
        raise HTTPError(f"more than {MAX_REDIRECTS} redirects from {path}")

    async def submit(self, page: Response, form: dict[str, str]) -> Response:
        """POST `form` to the first form's action on `page` (as its button would)."""
        m = _ACTION.search(page.body)
        if m is None:
            raise HTTPError(f"no <form action> on the page of {page.url} ({page.status}): {page.text[:200]!r}")
        return await self.navigate("POST", self._same_origin(urljoin(page.url, html.unescape(m.group(1).decode()))), form)

    async def follow(self, page: Response) -> Response:
        """GET the first link's href on `page` (as a click would)."""
        m = _HREF.search(page.body)
        if m is None:
            raise HTTPError(f"no <a href> on the page of {page.url} ({page.status})")
        return await self.navigate("GET", self._same_origin(urljoin(page.url, html.unescape(m.group(1).decode()))))

    # -- cookies ----------------------------------------------------------------------------

    def _cookie_header(self, path: str) -> str:
        return "; ".join(
            f"{name}={value}"
            for name, (value, cpath) in self.cookies.items()
            if path == cpath or path.startswith(cpath if cpath.endswith("/") else cpath + "/")
        )

    def _set_cookie(self, header: str) -> None:
        pair, *attrs = header.split(";")
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            return  # a browser ignores a cookie without a name
        path, gone = "/", False
        for attr in attrs:
            key, _, val = attr.partition("=")
            key, val = key.strip().lower(), val.strip()
            if key == "path" and val.startswith("/"):
                path = val
            elif key == "max-age":
                try:
                    gone = int(val) <= 0
                except ValueError:
                    pass
            elif key == "expires":
                try:
                    gone = parsedate_to_datetime(val).timestamp() <= time.time()
                except (TypeError, ValueError):
                    pass
        if gone:
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = (value.strip(), path)

    def _same_origin(self, url: str) -> str:
        """The path (and query) of `url`; an absolute URL must be this browser's origin."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            if parts.scheme not in ("http", "") or parts.hostname != self.host or (parts.port or 80) != self.port:
                raise HTTPError(f"refusing to leave {self.host}:{self.port} for {url}")
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
