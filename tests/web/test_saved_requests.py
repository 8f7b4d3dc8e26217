"""A saved request keeps no secrets (SPEC 2.6, issue 11 finding 2): the map a handler
receives, which is serialized with its frames, has no cookies and no Cookie, Authorization,
Proxy-Authorization or app-listed header; `cookie`, `header` and `(current-request)` read
them from the request running now. The raw stored bytes are checked in
tests/e2e/test_serve_security.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tmweb.web.app import App

from .test_app import k_url, make_app

SRC = """
(defroute GET "/map" [req]
  (json {:keys (sort (map str (keys req)))
         :headers (sort (keys (get req :headers)))
         :cookies (get req :cookies)}))

(defroute GET "/current" [req]
  (let [cur (current-request)]
    (json {:cookies (get cur :cookies) :auth (get (get cur :headers) "authorization")})))

(defroute GET "/later" [req]
  (send/suspend (fn [u] (html [:form {:method "post" :action u}])))
  (str "sid=" (cookie req "sid") " auth=" (header req "Authorization")
       " key=" (header req "x-api-key") " trace=" (header req "x-trace")))
"""


def test_the_request_map_a_handler_gets_has_no_cookies_and_no_credentials(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, SRC, sensitive_headers=["X-Api-Key"]))
    client.cookies.set("sid", "s")
    r = client.get(
        "/map",
        headers={"authorization": "Bearer a", "proxy-authorization": "Basic b", "x-api-key": "k", "x-trace": "t"},
    )
    body = r.json()
    assert ":cookies" not in body["keys"]
    assert body["cookies"] is None
    for name in ("cookie", "authorization", "proxy-authorization", "x-api-key"):
        assert name not in body["headers"]
    assert "x-trace" in body["headers"]
    r = client.get("/current", headers={"authorization": "Bearer a"})
    assert r.json()["auth"] == "Bearer a"
    assert r.json()["cookies"]["sid"] == "s"


def test_cookies_and_credentials_of_a_saved_request_are_read_from_the_current_one(
    tmp_path: Path,
) -> None:
    client = TestClient(make_app(tmp_path, SRC, sensitive_headers=["x-api-key"]))
    old = {"authorization": "Bearer old", "x-api-key": "old-key", "x-trace": "old-trace"}
    client.cookies.set("sid", "old-sid")
    url = k_url(client.get("/later", headers=old).text)
    client.cookies.set("sid", "new-sid")
    new = {"authorization": "Bearer new", "x-api-key": "new-key", "x-trace": "new-trace"}
    assert client.post(url, headers=new).text == "sid=new-sid auth=Bearer new key=new-key trace=old-trace"


def test_current_request_outside_a_request_is_an_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, SRC)
    with pytest.raises(Exception, match="current-request works inside a request handler"):
        app.rt.exec_text("(current-request)", app.rt.core, "<test>")


def test_sensitive_headers_come_from_the_environment_of_tmweb_serve(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tmweb.web.serve import app_from_env

    app = make_app(tmp_path, SRC)
    monkeypatch.setenv("TMWEB_APP_DIR", app.app_dir)
    monkeypatch.setenv("TMWEB_SECRET_KEY", "k" * 32)
    monkeypatch.setenv("TMWEB_SENSITIVE_HEADERS", "X-Api-Key,X-Other")
    served = app_from_env()
    assert isinstance(served, App)
    assert {"x-api-key", "x-other", "cookie", "authorization"} <= served.sensitive_headers
