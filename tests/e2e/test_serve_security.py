"""Issue 11 findings 2 and 7 against real `tmweb serve` processes on SQLite and Redis: a saved
request keeps no secrets (the raw stored bytes hold neither a cookie value nor an
Authorization value), and redirects and headers cannot be used to leave the site or inject
a header.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from .test_serve import Server, k_url, serve, write_app  # noqa: F401  (serve is a fixture)

SECRETS_SRC = """
(defn ask [title]
  (get (send/suspend (fn [u] (html [:h1 title] [:form {:method "post" :action u} [:input {:name "v"}]]))) "v"))

(defn seen [req]
  (str "sid=" (cookie req "sid") " auth=" (header req "authorization")
       " proxy=" (header req "proxy-authorization") " key=" (header req "x-api-key")
       " trace=" (header req "x-trace")))

(defroute GET "/who" [req]
  (def first (ask "First"))
  (def second (ask "Second"))
  (str "<p>" (seen req) "</p><p>now " (seen (current-request)) "</p><p>" first second "</p>"))
"""

OLD = {
    "sid": "COOKIE-OLD-7f3a9",
    "authorization": "Bearer AUTH-OLD-c41d2",
    "proxy-authorization": "Basic PROXY-OLD-88e1b",
    "x-api-key": "APIKEY-OLD-5521f",
}
NEW = {
    "sid": "COOKIE-NEW-0be62",
    "authorization": "Bearer AUTH-NEW-9a7c3",
    "proxy-authorization": "Basic PROXY-NEW-1d4f0",
    "x-api-key": "APIKEY-NEW-e6b18",
}


@pytest.fixture(params=["sqlite", "redis"])
def store_args(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "redis":
        return ["--store", request.getfixturevalue("redis_url")]
    return []


def stored_bytes(app: Path, store_args: list[str]) -> bytes:
    """Everything the store holds, raw: every SQLite row and the file with its WAL, or
    every Redis key's value."""
    if store_args:
        import redis

        r = redis.Redis.from_url(store_args[1])
        out = []
        try:
            for key in r.scan_iter("*"):
                kind = r.type(key)
                if kind == b"string":
                    out.append(r.get(key) or b"")
                elif kind == b"hash":
                    out += [k + b"=" + v for k, v in r.hgetall(key).items()]
                elif kind == b"list":
                    out += r.lrange(key, 0, -1)
                elif kind == b"set":
                    out += list(r.smembers(key))
                elif kind == b"zset":
                    out += r.zrange(key, 0, -1)
                else:
                    out.append(r.dump(key) or b"")
                out.append(key)
        finally:
            r.close()
        assert out, "nothing was stored in Redis"
        return b"\n".join(out)
    db = app / ".tmweb" / "continuations.sqlite3"
    out = [p.read_bytes() for p in db.parent.glob(db.name + "*")]
    with sqlite3.connect(db) as conn:
        tables = [t for (t,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f"SELECT * FROM {table}"):  # noqa: S608
                out += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    assert any(b"First" in part or b"main" in part for part in out), "nothing was stored in SQLite"
    return b"\n".join(out)


def browser_headers(server: Server, values: dict[str, str], trace: str) -> dict[str, str]:
    session = server.jar.get("tmweb_session")
    cookie = f"sid={values['sid']}" + (f"; tmweb_session={session}" if session else "")
    return {
        "cookie": cookie,
        "authorization": values["authorization"],
        "proxy-authorization": values["proxy-authorization"],
        "x-api-key": values["x-api-key"],
        "x-trace": trace,
    }


def test_saved_requests_keep_no_cookies_or_credentials(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    app = write_app(tmp_path / "app", SECRETS_SRC)
    server = serve(app, "--sensitive-header", "X-Api-Key", *store_args)
    first = server.get("/who", headers=browser_headers(server, OLD, "trace-1"))
    assert first.status_code == 200, first.text
    second = server.post(k_url(first.text), data={"v": "a"}, headers=browser_headers(server, NEW, "trace-2"))
    assert second.status_code == 200, second.text
    assert "Second" in second.text
    # two continuations are stored now, one saved with each request
    raw = stored_bytes(app, store_args)
    for values in (OLD, NEW):
        for name, value in values.items():
            secret = value.split()[-1].encode()
            assert secret not in raw, f"the {name} value {value!r} is in the store"
    assert b"trace-1" in raw  # an ordinary header is kept: the check looks at the right bytes
    done = server.post(k_url(second.text), data={"v": "b"}, headers=browser_headers(server, NEW, "trace-3"))
    assert done.status_code == 200, done.text
    # the saved request (of the first GET) keeps its ordinary headers; its cookies and
    # credentials are read from the request running now
    assert (
        f"<p>sid={NEW['sid']} auth={NEW['authorization']} proxy={NEW['proxy-authorization']} "
        f"key={NEW['x-api-key']} trace=trace-1</p>"
    ) in done.text
    assert f"<p>now sid={NEW['sid']} auth={NEW['authorization']}" in done.text
    assert "trace=trace-3</p>" in done.text
    assert "<p>ab</p>" in done.text


REDIRECT_SRC = """
(defroute GET "/go" [req] (redirect (query-param req "to")))
(defroute GET "/out" [req] (redirect "https://example.org/pay" :external #t))
(defroute GET "/header" [req] (response "ok" :headers {"x-note" (query-param req "v")}))
"""


def test_redirects_stay_on_the_site_and_headers_carry_no_line_breaks(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    server = serve(write_app(tmp_path / "app", REDIRECT_SRC))  # development: debug pages
    for url in ("//evil.example", "https://evil.example", "javascript:alert(1)", "/\\evil.example"):
        r = server.get("/go", params={"to": url})
        assert r.status_code == 500, (url, r.status_code)
        assert "location" not in r.headers
        assert "leads away from this site" in r.text
    assert server.get("/go", params={"to": "/home"}).headers["location"] == "/home"
    assert server.get("/out").headers["location"] == "https://example.org/pay"
    # header injection: a Turmeric error, and the log says 500 (not a 302 h11 then drops)
    r = server.get("/go", params={"to": "/home\r\nSet-Cookie: stolen=1"})
    assert r.status_code == 500
    assert "stolen" not in r.headers.get("set-cookie", "")
    r = server.get("/header", params={"v": "x\r\nSet-Cookie: stolen=1"})
    assert r.status_code == 500
    assert "x-note" in r.text and "control character" in r.text
    assert "stolen" not in r.headers.get("set-cookie", "")
    r = server.get("/header", params={"v": "tea \u2615"})
    assert r.status_code == 500
    assert "the value of the header &#39;x-note&#39; has the character" in r.text
    ok = server.get("/header", params={"v": "caf\u00e9"})
    assert ok.status_code == 200
    assert (b"x-note", "caf\u00e9".encode("latin-1")) in ok.headers.raw
    out = server.output()
    assert '"GET /header?v=tea' in out and "500" in out
    assert "Traceback" not in out
