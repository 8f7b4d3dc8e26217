"""The benchmark's HTTP client (bench/httpclient.py, bench/load.py) does what a browser does.

A few flows against a tiny raw asyncio server written here, which checks every request
(cookies sent back, 303 followed with a GET, form bodies) and answers in both body framings
(chunked and Content-Length); then a few flows against `tmweb serve` of the bench's own app
with two workers. No timing is asserted.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from .test_serve import REPO, Server, serve  # noqa: F401  (serve is a fixture)

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.httpclient import Browser, HTTPError  # noqa: E402
from bench.load import add_flow, run  # noqa: E402

ASK = '<form method="post" action="{action}"><input name="n"></form>'


class TinyServer:
    """The add flow the way tmweb serves it (session cookie, PRG), strict about requests."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []  # (method, path, cookie header)
        self.errors: list[str] = []
        self.sessions = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()
        self.ready.wait(10)

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._conn, "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            await self.server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _conn(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ")
                headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:] if h)}
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                cookie = headers.get("cookie", "")
                self.seen.append((method, path, cookie))
                writer.write(self._answer(method, path, cookie, body.decode()))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    def _answer(self, method: str, path: str, cookie: str, body: str) -> bytes:
        def page(html: str, extra: str = "", chunked: bool = False) -> bytes:
            data = html.encode()
            if chunked:  # two chunks, a chunk extension and a trailer field
                half = len(data) // 2
                framed = (f"{half:x};ext=1\r\n".encode() + data[:half] + b"\r\n"
                          + f"{len(data) - half:X}\r\n".encode() + data[half:] + b"\r\n0\r\nx-trailer: 1\r\n\r\n")
                return f"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n{extra}\r\n".encode() + framed
            return f"HTTP/1.1 200 OK\r\ncontent-length: {len(data)}\r\n{extra}\r\n".encode() + data

        if (method, path) == ("GET", "/add"):
            extra = ""
            if "sid=" not in cookie:
                self.sessions += 1
                extra = (f"set-cookie: sid=s{self.sessions}; Path=/; HttpOnly; SameSite=Lax; Secure\r\n"
                         "set-cookie: old=1; Path=/; Max-Age=0\r\n")
            return page(ASK.format(action="step/1?a=1&amp;b=2"), extra, chunked=True)
        if "sid=s" not in cookie or "old=" in cookie or "other=" in cookie:
            self.errors.append(f"{method} {path} with cookies {cookie!r}")
            return b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n"
        if (method, path, body) == ("POST", "/step/1?a=1&b=2", "n=3"):
            return b"HTTP/1.1 303 See Other\r\nlocation: /page/2\r\ncontent-length: 0\r\n\r\n"
        if (method, path) == ("GET", "/page/2"):
            return page(ASK.format(action=f"http://127.0.0.1:{self.port}/step/2"),
                        "set-cookie: other=1; Path=/elsewhere\r\n")
        if (method, path, body) == ("POST", "/step/2", "n=4"):
            return page("<p>3 + 4 = <strong>7</strong></p>", chunked=True)
        self.errors.append(f"unexpected {method} {path} {body!r}")
        return b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"


@pytest.fixture
def tiny() -> Iterator[TinyServer]:
    server = TinyServer()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize("procs", [1, 2])
def test_flows_follow_303_and_keep_each_users_cookies(tiny: TinyServer, procs: int) -> None:
    result = run("127.0.0.1", tiny.port, users=2, flows=6, procs=procs, warmup=2)
    assert tiny.errors == []
    assert (result.flows, result.procs) == (6, procs)
    # one session per simulated user, kept across its flows
    assert tiny.sessions == 2
    # every flow: GET /add, POST, the 303's GET, POST; latencies of the measured ones only
    assert [m for m, _, _ in tiny.seen].count("POST") == 2 * (6 + 2)
    assert ("GET", "/page/2") in [(m, p) for m, p, _ in tiny.seen]
    assert (len(result.latencies["GET"]), len(result.latencies["POST"])) == (12, 12)


def test_a_browser_reads_cookies_paths_and_absolute_urls(tiny: TinyServer) -> None:
    async def go() -> Browser:
        b = Browser("127.0.0.1", tiny.port)
        try:
            await add_flow(b)
            page = await b.navigate("GET", "/add")
            with pytest.raises(HTTPError, match="refusing to leave"):
                await b.navigate("GET", "http://example.invalid/")
            assert page.status == 200
        finally:
            await b.close()
        return b

    b = asyncio.run(go())
    assert tiny.errors == []
    # `old` was deleted by Max-Age=0; `other` is kept but only for its path
    assert set(b.cookies) == {"sid", "other"}
    assert b._cookie_header("/add") == "sid=s1"
    assert b._cookie_header("/elsewhere/x") == "sid=s1; other=1"


def test_the_bench_flow_against_tmweb_serve_with_two_workers(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    app = tmp_path / "web_app"
    shutil.copytree(REPO / "bench" / "web_app", app)
    server = serve(app, "--workers", "2")
    result = run("127.0.0.1", server.port, users=3, flows=6, procs=1, warmup=3)
    assert result.flows == 6
    # tmweb's Post/Redirect/Get: each POST of a flow is followed by a GET (of the next
    # step, then of the kept answer)
    assert (len(result.latencies["GET"]), len(result.latencies["POST"])) == (18, 12)
    assert "Traceback" not in server.output()
