"""tmweb's own pages: 404 and 405 are tmweb pages, every page takes the app's layout from
`templates/tmweb/layout.html`, one page is replaced by `templates/tmweb/NAME.html`, a
broken app template falls back to tmweb's own page, and nothing shows a Python traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from tmweb.web.app import App

from .test_app import ADD, ASK, KEY, k_url, make_app

LAYOUT = {
    "layout.html": (
        "<html><head><title>{% block title %}{% endblock %} - Shop</title>"
        "<link rel='stylesheet' href=\"{{ url_for('/static/s.css') }}\"></head>"
        "<body><nav>SHOP NAV</nav><main>{% block content %}{% endblock %}</main></body></html>"
    ),
    "tmweb/layout.html": (
        '{% extends "layout.html" %}'
        '{% block content %}<div class="tmweb">{% block body %}{% endblock %}</div>{% endblock %}'
    ),
}

ONCE = """
(defroute GET "/pay" [req]
  (def form (send/suspend (fn [k] (html [:form {:method "post" :action k} [:button "Pay"]])) :once #t))
  (str "paid " (get form "card")))

(defroute POST "/only-post" [req] "posted")
"""


def test_an_unknown_path_is_tmwebs_404_page(tmp_path: Path) -> None:
    r = TestClient(make_app(tmp_path, ADD, ASK)).get("/no/such/page?x=<b>")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "There is no page here" in r.text and "<code>/no/such/page</code>" in r.text
    assert 'href="/"' in r.text


def test_a_missing_static_file_is_the_404_page_too(tmp_path: Path) -> None:
    app = make_app(tmp_path, ADD, ASK)
    (tmp_path / "app" / "static").mkdir()
    app = App(str(tmp_path / "app"), secret_key=KEY)
    r = TestClient(app).get("/static/nope.css")
    assert r.status_code == 404 and "There is no page here" in r.text


def test_a_wrong_method_is_tmwebs_405_page_with_its_allow_header(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ADD + ONCE, ASK))
    r = client.post("/add")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET, HEAD"
    assert "answers GET, HEAD, not POST" in r.text
    r = client.get("/only-post")
    assert r.status_code == 405 and r.headers["allow"] == "POST"


def test_the_path_on_the_404_page_is_escaped(tmp_path: Path) -> None:
    r = TestClient(make_app(tmp_path, ADD, ASK)).get("/<script>alert(1)</script>")
    assert r.status_code == 404
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text


def test_every_tmweb_page_takes_the_apps_layout(tmp_path: Path) -> None:
    app = make_app(tmp_path, ADD + ONCE, {**ASK, **LAYOUT})
    client = TestClient(app)
    pages = {
        404: client.get("/nowhere"),
        405: client.post("/add"),
        400: client.get("/k/not-a-token"),
        410: client.get(f"/k/{app.tokens.new(60, False)[0]}"),
    }
    for status, r in pages.items():
        assert r.status_code == status
        assert "SHOP NAV" in r.text and '<div class="tmweb">' in r.text, r.text
        assert f'<span class="status">{status}</span>' in r.text
        assert "<style>" not in r.text  # tmweb's plain shell is not used
    assert "<title>Page not found - Shop</title>" in pages[404].text


def test_under_a_mount_the_apps_layout_links_carry_the_prefix(tmp_path: Path) -> None:
    app = make_app(tmp_path, ADD, {**ASK, **LAYOUT})
    client = TestClient(Starlette(routes=[Mount("/shop", app=app)]))
    r = client.get("/shop/nowhere")
    assert r.status_code == 404
    assert "href=\"/shop/static/s.css\"" in r.text  # url_for in the app's layout
    assert 'class="button" href="/shop/"' in r.text  # start_url


def test_an_app_page_replaces_tmwebs_404_and_405(tmp_path: Path) -> None:
    templates = {
        **ASK,
        "tmweb/not_found.html": "<h1>Lost: {{ path }} ({{ status }})</h1>",
        "tmweb/not_allowed.html": "<h1>No {{ method }} here; try {{ allowed|join('/') }}</h1>",
    }
    client = TestClient(make_app(tmp_path, ADD, templates))
    r = client.get("/x")
    assert (r.status_code, r.text) == (404, "<h1>Lost: /x (404)</h1>")
    r = client.delete("/add")
    assert (r.status_code, r.text) == (405, "<h1>No DELETE here; try GET/HEAD</h1>")


@pytest.mark.parametrize(
    "layout",
    [
        '{% extends "layout.html" %}{% block content %}{{ 1 // 0 }}{% endblock %}',  # fails rendering
        "{% block body %}",  # a syntax error
        '{% extends "missing.html" %}',  # extends a template that is not there
    ],
)
def test_a_broken_app_layout_falls_back_to_tmwebs_own_page(
    tmp_path: Path, layout: str, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(make_app(tmp_path, ADD, {**ASK, **LAYOUT, "tmweb/layout.html": layout}))
    r = client.get("/nowhere")
    assert r.status_code == 404
    assert "There is no page here" in r.text and "<style>" in r.text  # tmweb's plain shell
    assert "Traceback" not in r.text
    assert any("could not render tmweb/not_found.html" in m for m in caplog.messages)


def test_the_debug_page_keeps_tmwebs_own_look_whatever_the_layout(tmp_path: Path) -> None:
    src = '(defroute GET "/boom" [req] (+ 1 "a"))'
    client = TestClient(make_app(tmp_path, src, LAYOUT, debug=True))
    r = client.get("/boom")
    assert r.status_code == 500
    assert "Turmeric stack trace" in r.text and "SHOP NAV" not in r.text


def test_the_production_error_page_takes_the_layout(tmp_path: Path) -> None:
    src = '(defroute GET "/boom" [req] (+ 1 "a"))'
    r = TestClient(make_app(tmp_path, src, LAYOUT)).get("/boom")
    assert r.status_code == 500
    assert "Something went wrong" in r.text and "SHOP NAV" in r.text


def test_a_bug_in_python_code_is_the_plain_500_page_without_a_traceback(tmp_path: Path) -> None:
    app = make_app(tmp_path, ADD, {**ASK, **LAYOUT})

    async def broken(request: object) -> None:
        raise RuntimeError("a bug with a secret path /srv/app")

    app.starlette.add_route("/bug", broken)
    app.starlette.middleware_stack = None  # rebuilt with the route on the next request
    r = TestClient(app, raise_server_exceptions=False).get("/bug")
    assert r.status_code == 500
    assert "Something went wrong" in r.text and "SHOP NAV" in r.text
    assert "RuntimeError" not in r.text and "/srv/app" not in r.text and "Traceback" not in r.text


def test_a_malformed_form_body_is_a_400_page(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ADD, {**ASK, **LAYOUT}))
    url = k_url(client.get("/add").text)
    r = client.post(url, content=b"n=1", headers={"content-type": "multipart/form-data"})  # no boundary
    assert r.status_code == 400
    assert "Bad Request" in r.text and "SHOP NAV" in r.text


def test_resubmitting_a_completed_one_shot_post_step_says_it_was_completed(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ONCE, LAYOUT))
    url = k_url(client.get("/pay").text)
    assert client.post(url, data={"card": "4242"}).text == "paid 4242"
    again = client.post(url, data={"card": "4242"})
    assert again.status_code == 410
    assert "This step was already completed" in again.text
    assert "SHOP NAV" in again.text
    assert re.search(r'class="button[^"]*" href="/pay"', again.text)  # back to the flow's start
