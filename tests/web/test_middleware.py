"""The two ASGI middlewares on a tiny Starlette app: security headers and the body limit."""

from __future__ import annotations

from collections.abc import Iterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from tmweb.web.errors import RequestTooLarge
from tmweb.web.middleware import SECURITY_HEADERS, BodyLimit, SecurityHeaders


async def plain(request: Request) -> Response:
    return PlainTextResponse("plain")


async def own_policy(request: Request) -> Response:
    return PlainTextResponse("own", headers={"Referrer-Policy": "no-referrer"})


async def fail(request: Request) -> Response:
    raise RuntimeError("a bug")


async def echo_length(request: Request) -> Response:
    return PlainTextResponse(str(len(await request.body())))


async def ignore_body(request: Request) -> Response:
    return PlainTextResponse("did not read it")


async def too_large(request: Request, e: Exception) -> Response:
    assert isinstance(e, RequestTooLarge)
    return PlainTextResponse(f"over {e.limit}", status_code=413)


def headers_client() -> TestClient:
    app = Starlette(routes=[Route("/", plain), Route("/own", own_policy), Route("/fail", fail)])
    return TestClient(SecurityHeaders(app), raise_server_exceptions=False)


def test_every_response_gets_the_security_headers() -> None:
    client = headers_client()
    for path, status in [("/", 200), ("/nowhere", 404), ("/fail", 500)]:
        r = client.get(path)
        assert r.status_code == status
        for name, value in SECURITY_HEADERS.items():
            assert r.headers[name] == value


def test_a_header_the_response_sets_itself_is_kept_and_not_doubled() -> None:
    r = headers_client().get("/own")
    assert r.headers.get_list("referrer-policy") == ["no-referrer"]
    assert r.headers["x-content-type-options"] == "nosniff"


def test_the_lifespan_passes_through_the_header_middleware() -> None:
    with headers_client() as client:  # runs startup and shutdown
        assert client.get("/").text == "plain"


def limited_client(limit: int = 10) -> TestClient:
    app = Starlette(
        routes=[
            Route("/echo", echo_length, methods=["POST"]),
            Route("/ignore", ignore_body, methods=["POST"]),
        ],
        middleware=[Middleware(BodyLimit, max_bytes=limit)],
        exception_handlers={RequestTooLarge: too_large},
    )
    return TestClient(app)


def chunks(n: int, size: int) -> Iterator[bytes]:
    for _ in range(n):
        yield b"a" * size


def test_a_body_within_the_limit_is_read_whole() -> None:
    client = limited_client()
    assert client.post("/echo", content=b"a" * 10).text == "10"
    assert client.post("/echo", content=chunks(2, 5)).text == "10"


def test_a_body_over_the_limit_by_its_length_or_as_it_streams_raises_in_the_endpoint() -> None:
    client = limited_client()
    for body in (b"a" * 11, chunks(3, 4)):
        r = client.post("/echo", content=body)
        assert (r.status_code, r.text) == (413, "over 10")


def test_a_body_nobody_reads_is_never_refused() -> None:
    r = limited_client().post("/ignore", content=b"a" * 100)
    assert (r.status_code, r.text) == (200, "did not read it")
