"""A url-encoded form body is parsed by tmweb from the body it has read, exactly as
Starlette's streaming parser would (latin-1, then %-escapes as UTF-8), and with its limit
of 1,000 fields."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from starlette.datastructures import Headers
from starlette.formparsers import FormParser
from starlette.testclient import TestClient

from .test_app import make_app

SRC = """
(defroute POST "/echo" [req]
  (pr-str (sort (map (fn [e] [(first e) (second e)]) (get req :form)))))
"""

BODIES = [b"n=3", b"a=1&a=2&b=", b"x", b"a=%C3%A9&b=\xc3\xa9", b"a+b=c+d", b"a=1;b=2",
          b"&&a=1&", b"=v", b"a=%zz", b"k=%E9"]  # fmt: skip


def starlettes(body: bytes) -> list[tuple[str, str]]:
    async def parse() -> list[tuple[str, str]]:
        async def stream():  # type: ignore[no-untyped-def]
            yield body
            yield b""

        headers = Headers({"content-type": "application/x-www-form-urlencoded"})
        return list((await FormParser(headers, stream()).parse()).multi_items())

    return asyncio.run(parse())


@pytest.mark.parametrize("body", BODIES)
def test_a_form_body_gives_what_starlettes_parser_gives(tmp_path: Path, body: bytes) -> None:
    app = make_app(tmp_path, SRC)
    seen: dict[str, object] = {}

    async def capture(scope, receive, send):  # type: ignore[no-untyped-def]
        from starlette.requests import Request

        req = await app.request_value(Request(scope, receive))
        seen["form"] = req.d[next(k for k in req.d if getattr(k, "name", "") == "form")]
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    TestClient(capture).post("/", content=body,
                             headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    form = seen["form"]
    expected: dict[str, object] = {}
    for k, v in starlettes(body):
        expected.setdefault(k, []).append(v)  # type: ignore[union-attr]
    got = {k: (list(v) if not isinstance(v, str) else [v]) for k, v in form.items()}  # type: ignore[attr-defined]
    assert got == expected


def test_more_than_a_thousand_fields_is_a_400_page(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, SRC))
    ok = "&".join(f"f{i}=1" for i in range(1000))
    assert client.post("/echo", content=ok, headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 200
    r = client.post("/echo", content=ok + "&one=more",
                    headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert r.status_code == 400
    assert "<title>Bad Request" in r.text or "Bad Request<" in r.text
