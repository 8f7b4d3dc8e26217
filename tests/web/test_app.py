"""The HTTP contract of `tmweb.web.app.App` (SPEC section 2), through Starlette's TestClient.

Every test writes a tiny app into `tmp_path` (a .tm module, templates/, maybe static/) and
talks to it over HTTP, directly and mounted under a prefix. Continuation URLs are read back
from the pages the app answers with, the way a browser would follow them.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import re
import stat
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from tmweb.lang import register_python
from tmweb.web.app import App
from tmweb.web.errors import ConfigError, StoreUnavailable
from tmweb.web.stores import open_store

if TYPE_CHECKING:
    from tests.conftest import FakeClock

KEY = "test-secret-key"
K_URL = re.compile(r'(?:action|href)="([^"]*/k/[^"]+)"')


# -- helpers -----------------------------------------------------------------------------


def write_app(
    folder: Path,
    src: str,
    templates: dict[str, str] | None = None,
    static: dict[str, str] | None = None,
    module: str = "main.tm",
) -> Path:
    """An app folder: one Turmeric module, templates/ and static/ files."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / module).write_text(textwrap.dedent(src).lstrip("\n"), encoding="utf-8")
    for name, text in (templates or {}).items():
        path = folder / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for name, text in (static or {}).items():
        path = folder / "static" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def make_app(tmp_path: Path, src: str, templates: dict[str, str] | None = None, **kw: Any) -> App:
    kw.setdefault("secret_key", KEY)
    return App(str(write_app(tmp_path / "app", src, templates)), **kw)


def k_urls(page: str) -> list[str]:
    """The continuation URLs in a page's form actions and links, in order."""
    return [u.replace("&amp;", "&") for u in K_URL.findall(page)]


def k_url(page: str) -> str:
    urls = k_urls(page)
    assert urls, f"no continuation URL in the page:\n{page}"
    return urls[0]


def token_of(url: str) -> str:
    return url.rsplit("/k/", 1)[1].split("?")[0]


class CountingStore:
    """A store object (App(store=...) accepts one) that records every call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.url = getattr(inner, "url", "counting")
        self.calls: list[tuple[str, str]] = []

    async def put(self, key: str, data: bytes, ttl: int, once: bool, flow: str | None = None,
                  owner: str | None = None, limits: Any = None) -> int:  # fmt: skip
        self.calls.append(("put", key))
        return await self.inner.put(key, data, ttl, once, flow=flow, owner=owner, limits=limits)

    async def get(self, key: str, once: bool, flow: str | None = None) -> bytes | None:
        self.calls.append(("get", key))
        return await self.inner.get(key, once, flow=flow)

    async def expire_flow(self, flow: str) -> None:
        self.calls.append(("expire_flow", flow))
        await self.inner.expire_flow(flow)

    async def delete(self, key: str) -> None:
        self.calls.append(("delete", key))
        await self.inner.delete(key)

    async def ping(self) -> None:
        self.calls.append(("ping", ""))
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


class DownStore:
    """A store whose backend is unreachable, like a stopped Redis."""

    url = "down://"

    async def put(self, key: str, data: bytes, ttl: int, once: bool, flow: str | None = None,
                  owner: str | None = None, limits: Any = None) -> int:  # fmt: skip
        raise StoreUnavailable("Redis at redis://nowhere is unreachable: Connection refused")

    async def get(self, key: str, once: bool, flow: str | None = None) -> bytes | None:
        raise StoreUnavailable("Redis at redis://nowhere is unreachable: Connection refused")

    async def expire_flow(self, flow: str) -> None:
        raise StoreUnavailable("down")

    async def delete(self, key: str) -> None:
        raise StoreUnavailable("down")

    async def ping(self) -> None:
        raise StoreUnavailable("down")

    async def close(self) -> None:
        pass


ADD = """
(defn ask-number [label]
  (def form
    (send/suspend
      (fn [k-url]
        (render "ask.html" {:label label :action k-url}))))
  (int (get form "n")))

(defroute GET "/add" [req]
  (def a (ask-number "First number"))
  (def b (ask-number "Second number"))
  (str "<p>" a " + " b " = <b>" (+ a b) "</b></p>"))
"""

ASK = {
    "ask.html": '<form method="post" action="{{ action }}">{{ label }} <input name="n"></form>',
}


def add_flow(client: TestClient, prefix: str = "") -> str:
    first = client.get(prefix + "/add")
    assert first.status_code == 200, first.text
    assert "First number" in first.text
    second = client.post(k_url(first.text), data={"n": "3"})
    assert second.status_code == 200, second.text
    assert "Second number" in second.text
    done = client.post(k_url(second.text), data={"n": "4"})
    assert done.status_code == 200, done.text
    return done.text


# -- routes and the request functions ------------------------------------------------------

REQUEST_FNS = """
(defroute GET "/item/{id}" [req]
  (json {:id (path-param req "id")
         :missing (path-param req "nope")
         :q (query-param req "q")
         :q-missing (query-param req "zzz")
         :method (request-method req)
         :path (request-path req)
         :header (header req "X-Thing")
         :header-lower (header req "x-thing")
         :cookie (cookie req "sid")
         :no-cookie (cookie req "other")}))

(defroute POST "/form/{kind}" [req]
  (json {:kind (path-param req "kind")
         :form (form-data req)
         :parsed (parse-form-data req)
         :method (request-method req)}))

(defroute PUT "/thing" [req] (str "put " (get (form-data req) "v")))
(defroute PATCH "/thing" [req] (str "patch " (get (form-data req) "v")))
(defroute DELETE "/thing" [req] (str "delete " (request-method req)))
(defroute GET "/thing" [req] "get")
"""


def test_a_route_with_a_path_param_sees_every_part_of_the_request(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, REQUEST_FNS))
    client.cookies.set("sid", "abc123")
    r = client.get("/item/42?q=tea", headers={"X-Thing": "hello"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {
        "id": "42",
        "missing": None,
        "q": "tea",
        "q-missing": None,
        "method": "GET",
        "path": "/item/42",
        "header": "hello",
        "header-lower": "hello",
        "cookie": "abc123",
        "no-cookie": None,
    }


def test_form_data_is_a_map_with_string_keys_and_a_repeated_key_gives_a_vector(
    tmp_path: Path,
) -> None:
    client = TestClient(make_app(tmp_path, REQUEST_FNS))
    r = client.post("/form/order", data={"name": "Ann", "tag": ["a", "b"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "order"
    assert body["method"] == "POST"
    assert body["form"] == {"name": "Ann", "tag": ["a", "b"]}
    assert body["parsed"] == body["form"]


def test_multipart_form_data_is_read_too(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, REQUEST_FNS))
    r = client.post("/form/up", data={"name": "Bo"}, files={"f": ("a.txt", b"hi", "text/plain")})
    assert r.status_code == 200, r.text
    assert r.json()["form"]["name"] == "Bo"


@pytest.mark.parametrize(
    ("method", "expected"),
    [("GET", "get"), ("PUT", "put 1"), ("PATCH", "patch 1"), ("DELETE", "delete DELETE")],
)
def test_each_method_reaches_its_own_handler_on_one_path(
    tmp_path: Path, method: str, expected: str
) -> None:
    client = TestClient(make_app(tmp_path, REQUEST_FNS))
    data = {"v": "1"} if method in ("PUT", "PATCH") else None
    r = client.request(method, "/thing", data=data)
    assert r.status_code == 200, r.text
    assert r.text == expected


def test_a_head_request_to_a_get_route_answers_without_a_body(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, REQUEST_FNS), raise_server_exceptions=False)
    r = client.head("/thing")
    assert r.status_code == 200
    assert r.content == b""


def test_a_method_without_a_route_is_405_and_an_unknown_path_404(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, REQUEST_FNS))
    assert client.post("/item/1").status_code == 405
    assert client.get("/nowhere").status_code == 404


def test_defroute_with_an_unknown_method_is_a_clear_error_at_load(tmp_path: Path) -> None:
    from tmweb.lang import TurmericError

    with pytest.raises(TurmericError, match="defroute"):
        make_app(tmp_path, '(defroute FETCH "/x" [req] "no")')


# -- responses -----------------------------------------------------------------------------

RESPONSES = """
(defroute GET "/string" [req] "<p>plain</p>")
(defroute GET "/render" [req]
  (render "page.html" {:name (query-param req "name") :items ["a" "b"]}))
(defroute GET "/render-status" [req] (render "page.html" {:name "x" :items []} :status 201))
(defroute GET "/html" [req]
  (html [:p {:class "x" :title (query-param req "t")} (query-param req "name")]
        [:ul.list#main (map (fn [i] [:li i]) [1 2])]
        [:div (raw "<b>trusted</b>")]
        [:input {:name "n" :disabled true}]))
(defroute GET "/json" [req] (json {:a 1 :b [1 2.5 "three"] :c nil :d #t :e {:f "g"}}))
(defroute GET "/json-status" [req] (json {:error "nope"} :status 404))
(defroute GET "/redirect" [req] (redirect "/string"))
(defroute GET "/redirect-301" [req] (redirect "/string" :status 301))
(defroute GET "/response" [req]
  (response "teapot" :status 418 :headers {"X-Extra" "yes" :x-kw "kw"}))
(defroute GET "/response-ctype" [req]
  (response "a,b" :content-type "text/csv"))
(defroute GET "/url" [req] (url-for "/next"))
"""

PAGE = {"page.html": "<h1>Hello {{ name }}</h1>{% for i in items %}<i>{{ i }}</i>{% endfor %}"}


@pytest.fixture
def responses(tmp_path: Path) -> TestClient:
    return TestClient(make_app(tmp_path, RESPONSES, PAGE), follow_redirects=False)


def test_a_string_is_an_html_page_with_status_200(responses: TestClient) -> None:
    r = responses.get("/string")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.text == "<p>plain</p>"


def test_render_fills_a_jinja_template_and_escapes_the_data(responses: TestClient) -> None:
    r = responses.get("/render", params={"name": "<script>alert(1)</script>"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "<script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    assert "<i>a</i><i>b</i>" in r.text
    assert responses.get("/render-status").status_code == 201


def test_a_missing_template_is_a_clear_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, '(defroute GET "/" [req] (render "nope.html" {}))', debug=True)
    r = TestClient(app).get("/")
    assert r.status_code == 500
    assert "nope.html" in r.text


def test_html_renders_hiccup_and_escapes_text_and_attributes(responses: TestClient) -> None:
    r = responses.get("/html", params={"name": "<script>x</script>", "t": '"><script>'})
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert (
        '<p class="x" title="&#34;&gt;&lt;script&gt;">&lt;script&gt;x&lt;/script&gt;</p>' in r.text
    )
    assert '<ul class="list" id="main"><li>1</li><li>2</li></ul>' in r.text
    assert "<div><b>trusted</b></div>" in r.text
    assert '<input name="n" disabled>' in r.text


def test_json_encodes_turmeric_data(responses: TestClient) -> None:
    r = responses.get("/json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"a": 1, "b": [1, 2.5, "three"], "c": None, "d": True, "e": {"f": "g"}}
    r = responses.get("/json-status")
    assert r.status_code == 404
    assert r.json() == {"error": "nope"}


def test_redirect_answers_302_with_a_location(responses: TestClient) -> None:
    r = responses.get("/redirect")
    assert r.status_code == 302
    assert r.headers["location"] == "/string"
    assert responses.get("/redirect-301").status_code == 301


def test_response_sets_status_headers_and_content_type(responses: TestClient) -> None:
    r = responses.get("/response")
    assert r.status_code == 418
    assert r.text == "teapot"
    assert r.headers["x-extra"] == "yes"
    assert r.headers["x-kw"] == "kw"
    r = responses.get("/response-ctype")
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text == "a,b"


def test_url_for_without_a_mount_is_the_path(responses: TestClient) -> None:
    assert responses.get("/url").text == "/next"


@pytest.mark.parametrize("value", ["42", "{:a 1}", "[1 2]", ":done", "(fn [] 1)"])
def test_a_handler_returning_an_invalid_value_is_a_clear_error(tmp_path: Path, value: str) -> None:
    app = make_app(tmp_path, f'(defroute GET "/" [req] {value})', debug=True)
    r = TestClient(app).get("/")
    assert r.status_code == 500
    assert "a handler returned" in r.text
    assert "return a string" in r.text


def test_a_bad_response_option_is_a_clear_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, '(defroute GET "/" [req] (response "x" :stauts 404))', debug=True)
    r = TestClient(app).get("/")
    assert r.status_code == 500
    assert ":stauts" in r.text


def test_static_files_are_served_under_static(tmp_path: Path) -> None:
    folder = write_app(
        tmp_path / "app", '(defroute GET "/" [req] "home")', static={"site.css": "p{}"}
    )
    r = TestClient(App(str(folder), secret_key=KEY)).get("/static/site.css")
    assert r.status_code == 200
    assert r.text == "p{}"


# -- tmweb's own pages ---------------------------------------------------------------------


def test_an_app_template_overrides_tmwebs_expired_page(tmp_path: Path) -> None:
    app = make_app(
        tmp_path,
        ADD,
        {
            **ASK,
            "tmweb/expired.html": "<h1>Custom gone {{ status }}</h1><a href='{{ start_url }}'>again</a>",
        },
    )
    client = TestClient(app)
    unknown, _ = app.tokens.new(60, False)
    r = client.get(f"/k/{unknown}")
    assert r.status_code == 410
    assert "Custom gone 410" in r.text
    assert "This page has expired" not in r.text


def test_the_default_expired_page_is_used_without_an_override(tmp_path: Path) -> None:
    app = make_app(tmp_path, ADD, ASK)
    unknown, _ = app.tokens.new(60, False)
    r = TestClient(app).get(f"/k/{unknown}")
    assert r.status_code == 410
    assert "expired" in r.text
    assert 'href="/"' in r.text


# -- send/suspend --------------------------------------------------------------------------


def test_the_add_two_numbers_flow_suspends_twice_and_adds(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ADD, ASK))
    assert "3 + 4 = <b>7</b>" in add_flow(client)


def test_a_continuation_stored_in_format_1_still_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes an older tmweb stored (format 1) resume on this one: a deploy keeps them."""
    from tmweb.lang.serial import format1_write, format2_write

    client = TestClient(make_app(tmp_path, ADD, ASK))
    written: list[bytes] = []
    with monkeypatch.context() as m:

        def older(*args: Any) -> bytes:
            raise format2_write.Fallback  # as if format 2 did not exist

        def format1(*args: Any) -> bytes:
            written.append(real(*args))
            return written[-1]

        real = format1_write.write
        m.setattr(format2_write, "write", older)
        m.setattr(format1_write, "write", format1)
        first = client.get("/add")
    assert len(written) == 1 and written[0].startswith(format1_write.MAGIC)
    second = client.post(k_url(first.text), data={"n": "3"})
    done = client.post(k_url(second.text), data={"n": "4"})
    assert "3 + 4 = <b>7</b>" in done.text


def test_a_suspended_handler_resumes_from_a_get_query_too(tmp_path: Path) -> None:
    ask_by_get = {"ask.html": ASK["ask.html"].replace('method="post"', 'method="get"')}
    client = TestClient(make_app(tmp_path, ADD, ask_by_get))
    first = client.get("/add")
    url = k_url(first.text)
    assert url.startswith("/k/")
    second = client.get(url, params={"n": "10"})
    assert second.status_code == 200, second.text
    done = client.get(k_url(second.text), params={"n": "5"})
    assert "10 + 5 = <b>15</b>" in done.text


def test_a_get_of_a_step_whose_page_posts_a_form_shows_the_page_again(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ADD, ASK))
    url = k_url(client.get("/add").text)
    again = client.get(url, params={"n": "10"})
    assert again.status_code == 200 and "First number" in again.text and k_url(again.text) == url


def test_send_suspend_returns_the_whole_form_data_map(tmp_path: Path) -> None:
    src = """
    (defroute GET "/" [req]
      (def data (send/suspend (fn [k] (html [:form {:action k :method "post"}]))))
      (json data))
    """
    client = TestClient(make_app(tmp_path, src))
    r = client.post(k_url(client.get("/").text), data={"a": "1", "b": ["x", "y"]})
    assert r.json() == {"a": "1", "b": ["x", "y"]}


ONCE = """
(defroute GET "/pay" [req]
  (def form (send/suspend (fn [k] (html [:form {:action k :method "post"} "Pay"])) :once #t))
  (str "paid " (get form "amount")))
"""


def test_a_one_shot_continuation_works_once_then_is_410(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ONCE))
    url = k_url(client.get("/pay").text)
    first = client.post(url, data={"amount": "30"})
    assert first.status_code == 200
    assert first.text == "paid 30"
    again = client.post(url, data={"amount": "30"})
    assert again.status_code == 410
    assert "expired" in again.text.lower()
    assert 'href="/pay"' in again.text  # the start of the flow


def test_a_multi_shot_continuation_can_be_used_again(tmp_path: Path) -> None:
    src = ONCE.replace(" :once #t", "")
    client = TestClient(make_app(tmp_path, src))
    url = k_url(client.get("/pay").text)
    assert client.post(url, data={"amount": "1"}).text == "paid 1"
    assert client.post(url, data={"amount": "2"}).text == "paid 2"


DISPATCH = """
(defroute GET "/pick" [req]
  (def choice
    (send/suspend/dispatch
      (fn [embed/url]
        (html [:a {:href (embed/url (fn [data] "red"))} "red"]
              [:a {:href (embed/url (fn [data] (str "blue " (get data "shade"))))} "blue"]))))
  (str "you chose " choice))
"""


def test_send_suspend_dispatch_gives_one_url_per_handler(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, DISPATCH))
    page = client.get("/pick").text
    red, blue = k_urls(page)
    assert red != blue
    assert red.startswith("/k/") and blue.startswith("/k/")
    assert client.get(red).text == "you chose red"
    assert client.get(blue, params={"shade": "dark"}).text == "you chose blue dark"
    # every link stays usable: the page is a menu, not a one-shot
    assert client.post(blue, data={"shade": "light"}).text == "you chose blue light"


SEND_BACK = """
(def after (ref 0))

(defroute GET "/early" [req]
  (when (= (query-param req "stop") "1")
    (send/back (response "stopped early" :status 403)))
  (swap! after inc)
  "went on")

(defroute GET "/after" [req] (str (deref after)))
"""


def test_send_back_answers_now_and_abandons_the_rest_of_the_handler(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, SEND_BACK))
    r = client.get("/early", params={"stop": "1"})
    assert r.status_code == 403
    assert r.text == "stopped early"
    assert client.get("/after").text == "0"
    r = client.get("/early")
    assert r.text == "went on"
    assert client.get("/after").text == "1"


PRG = """
(defroute POST "/order" [req]
  (def item (get (form-data req) "item"))
  (redirect/get)
  (str "ordered " item))
"""


def test_redirect_get_answers_303_and_the_get_resumes(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, PRG), follow_redirects=False)
    r = client.post("/order", data={"item": "tea"})
    assert r.status_code == 303
    location = r.headers["location"]
    assert location.startswith("/k/")
    after = client.get(location)
    assert after.status_code == 200
    assert after.text == "ordered tea"
    # reloading the result page does not post the order again, it re-runs the GET
    assert client.get(location).text == "ordered tea"


SEED_LOW_LEVEL = """
;; Initial page
(defn get-checkout [req]
  (cloneable-shift [k]
    ;; Save continuation to the store, return URL token
    (def token (save-continuation k))
    (html [:form {:method "post" :action (str (url-for "/checkout-submit") "?token=" token)}
            [:input {:name "card"}]])))

(defroute GET "/checkout" [req]
  (def form (get-checkout req))
  (str "charged card " (get form "card")))

;; Form submission handler
(defroute POST "/checkout-submit" [req]
  ;; Load and resume continuation
  (def k (load-continuation (query-param req "token")))
  (def response (resume k (parse-form-data req)))
  response)

(defroute GET "/via-url" [req]
  (def n (cloneable-shift [k]
           (html [:a {:href (continuation-url (save-continuation k :once #t :ttl 60))} "go"])))
  (str "got " (get n "x")))
"""


def test_the_seeds_low_level_save_load_resume_flow(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, SEED_LOW_LEVEL))
    page = client.get("/checkout").text
    action = re.search(r'action="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert action.startswith("/checkout-submit?token=")
    r = client.post(action, data={"card": "4242"})
    assert r.status_code == 200, r.text
    assert r.text == "charged card 4242"
    # multi-shot by default: the same token resumes again
    assert client.post(action, data={"card": "1111"}).text == "charged card 1111"


def test_continuation_url_with_a_saved_one_shot_token(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, SEED_LOW_LEVEL))
    url = k_url(client.get("/via-url").text)
    assert url.startswith("/k/")
    click = {"sec-fetch-user": "?1"}  # a one-shot link is used up by a person's click only
    assert "Continue?" in client.get(url, params={"x": "1"}).text
    assert client.get(url, params={"x": "1"}, headers=click).text == "got 1"
    assert client.get(url, params={"x": "1"}, headers=click).status_code == 410


def test_load_continuation_of_a_bad_token_is_a_clear_error(tmp_path: Path) -> None:
    app = make_app(tmp_path, SEED_LOW_LEVEL, debug=True)
    r = TestClient(app).post("/checkout-submit?token=garbage", data={"card": "1"})
    assert r.status_code == 500
    assert "load-continuation" in r.text
    assert "not valid" in r.text


def test_the_back_button_resumes_an_older_step_with_its_captured_values(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ADD, ASK))
    first = client.get("/add")
    k1 = k_url(first.text)
    second = client.post(k1, data={"n": "3"})
    k2 = k_url(second.text)
    assert "3 + 4 = <b>7</b>" in client.post(k2, data={"n": "4"}).text
    # back to the second page: a = 3 is still captured there
    assert "3 + 5 = <b>8</b>" in client.post(k2, data={"n": "5"}).text
    # back to the first page: a new a, then a new second step
    again = client.post(k1, data={"n": "10"})
    assert "Second number" in again.text
    k2b = k_url(again.text)
    assert k2b != k2
    assert "10 + 4 = <b>14</b>" in client.post(k2b, data={"n": "4"}).text
    # and the old second step still has a = 3
    assert "3 + 1 = <b>4</b>" in client.post(k2, data={"n": "1"}).text


def test_bindings_made_after_the_capture_are_fresh_on_each_resume(tmp_path: Path) -> None:
    src = """
    (def visits (ref 0))
    (defroute GET "/" [req]
      (def before (swap! visits inc))
      (def form (send/suspend (fn [k] (html [:a {:href k} "next"]))))
      (def local (str before "/" (get form "x")))
      local)
    """
    client = TestClient(make_app(tmp_path, src))
    url = k_url(client.get("/").text)
    assert client.get(url, params={"x": "a"}).text == "1/a"
    assert client.get(url, params={"x": "b"}).text == "1/b"


# -- tokens --------------------------------------------------------------------------------


def _tamperings(token: str, other_key_token: str) -> list[str]:
    payload, stamp, sig = token.rsplit(".", 2)  # a compressed payload starts with "."
    mid = len(sig) // 2
    flipped = sig[:mid] + ("A" if sig[mid] != "A" else "Q") + sig[mid + 1 :]
    forged = base64.urlsafe_b64encode(b'["' + b"0" * 32 + b'",0,3600]').rstrip(b"=").decode()
    return [
        f"{payload}.{stamp}.{flipped}",
        f"{forged}.{stamp}.{sig}",
        f"{payload}.{stamp}.{sig}=",
        f"{payload}.{stamp}.{sig[:-1]}",
        f"{payload}.{int(stamp != 'A')}{stamp}.{sig}",  # signed at another time
        token[:-4],
        token + "x",
        "not-a-token",
        "a.b.c",
        "é.é.é",
        other_key_token,
    ]


def test_a_tampered_token_is_400_without_touching_the_store(tmp_path: Path) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    store = CountingStore(open_store(None, str(folder)))
    app = App(str(folder), store=store, secret_key=KEY)
    client = TestClient(app)
    token = token_of(k_url(client.get("/add").text))
    other = App(str(folder), store=CountingStore(open_store(None, str(folder))), secret_key="other")
    other_token = token_of(k_url(TestClient(other).get("/add").text))
    store.calls.clear()
    for bad in _tamperings(token, other_token):
        for method in ("GET", "POST"):
            r = client.request(method, f"/k/{bad}", data={"n": "1"} if method == "POST" else None)
            assert r.status_code == 400, (bad, r.status_code, r.text)
            assert "not valid" in r.text
            assert 'href="/"' in r.text
    assert store.calls == []
    # the genuine token still works
    r = client.post(f"/k/{token}", data={"n": "1"})
    assert r.status_code == 200
    # load, store the next step; the GET the 303 (Post/Redirect/Get) leads to gets the
    # page the POST built (recent.py); a reload of it reads the step from the store
    assert [c for c, _ in store.calls] == ["get", "put"]
    assert client.get(r.url).status_code == 200
    assert [c for c, _ in store.calls] == ["get", "put", "get"]


def test_an_unknown_token_is_a_410_page_with_a_link_to_start_again(tmp_path: Path) -> None:
    app = make_app(tmp_path, ADD, ASK)
    unknown, _ = app.tokens.new(3600, False)
    r = TestClient(app).post(f"/k/{unknown}", data={"n": "1"})
    assert r.status_code == 410
    assert "This page has expired" in r.text
    assert '<a class="button" href="/">Start again</a>' in r.text


@pytest.mark.parametrize(
    ("later", "calls"),
    [
        # itsdangerous counts whole seconds: the token is 1 s old, within its TTL, and
        # the store has expired the continuation (then the page asks for the flow's note)
        (1.5, ["get", "get"]),
        # the token is 2 s old: expired by itself, the store is not asked
        (2.5, []),
    ],
)
def test_an_expired_continuation_is_410(
    tmp_path: Path, clock: FakeClock, later: float, calls: list[str]
) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    store = CountingStore(open_store(None, str(folder), clock))
    client = TestClient(App(str(folder), store=store, secret_key=KEY, ttl=1, clock=clock))
    url = k_url(client.get("/add").text)
    clock.advance(later)
    store.calls.clear()
    r = client.post(url, data={"n": "1"})
    assert r.status_code == 410
    assert "expired" in r.text
    assert 'href="/add"' in r.text  # the start of the flow, even from an expired token
    assert [c for c, _ in store.calls] == calls


def test_a_save_continuation_ttl_overrides_the_apps(tmp_path: Path, clock: FakeClock) -> None:
    src = """
    (defroute GET "/" [req]
      (def f (send/suspend (fn [k] (html [:a {:href k} "go"])) :ttl 1))
      "resumed")
    """
    client = TestClient(make_app(tmp_path, src, ttl=3600, clock=clock))
    url = k_url(client.get("/").text)
    clock.advance(0.5)
    assert client.get(url).text == "resumed"
    clock.advance(1.0)
    assert client.get(url).status_code == 410


def test_a_token_from_a_rotated_out_key_is_accepted_while_the_key_is_listed(tmp_path: Path) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    old = TestClient(App(str(folder), secret_key=["old"]))
    url = k_url(old.get("/add").text)
    new_app = App(str(folder), secret_key=["new", "old"])
    new = TestClient(new_app, cookies=old.cookies)  # the same browser, after the rotation
    second = new.post(url, data={"n": "3"})
    assert second.status_code == 200, second.text
    assert "Second number" in second.text
    # the new app signs with "new": the old-only app cannot check that
    url2 = k_url(second.text)
    assert old.post(url2, data={"n": "4"}).status_code == 400
    assert "3 + 4 = <b>7</b>" in new.post(url2, data={"n": "4"}).text
    # keys as one comma-separated string, newest first, work the same
    assert (
        TestClient(App(str(folder), secret_key="newer,old"), cookies=old.cookies)
        .post(url, data={"n": "1"})
        .status_code
        == 200
    )


@pytest.mark.parametrize("url", ["mysql://localhost/db", "sqlite:///no/such/folder/x.db"])
def test_a_bad_store_url_is_a_config_error_at_start(tmp_path: Path, url: str) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    with pytest.raises(ConfigError, match="store"):
        App(str(folder), store=url, secret_key=KEY)


def test_a_store_given_as_a_sqlite_url_is_used(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere.db"
    client = TestClient(make_app(tmp_path, ADD, ASK, store=f"sqlite:///{db}"))
    assert "3 + 4 = <b>7</b>" in add_flow(client)
    assert db.exists()
    assert not (tmp_path / "app" / ".tmweb" / "continuations.sqlite3").exists()


def test_production_refuses_to_start_without_a_secret_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    monkeypatch.setenv("TMWEB_ENV", "production")
    monkeypatch.delenv("TMWEB_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="secret key"):
        App(str(folder))
    assert not (folder / ".tmweb" / "secret_key").exists()
    monkeypatch.setenv("TMWEB_SECRET_KEY", "from-env-" + "e" * 32)
    App(str(folder))
    monkeypatch.delenv("TMWEB_SECRET_KEY")
    App(str(folder), secret_key="given-" + "g" * 32)


STRONG = "s" * 32  # 32 bytes: the shortest key production accepts


@pytest.mark.parametrize(
    "keys, refused",
    [
        ("ab", "the secret key is 2 bytes"),
        ("k" * 31, "the secret key is 31 bytes"),
        ("é" * 15 + "x", "the secret key is 31 bytes"),  # bytes, not characters
        (f"{STRONG},old", "key 2 of 2 is 3 bytes"),  # a short old key is refused too
        (["short", STRONG], "key 1 of 2 is 5 bytes"),
        (STRONG, None),
        ("é" * 16, None),
        (f"{STRONG},{'t' * 40}", None),
    ],
)
def test_production_refuses_secret_keys_under_32_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keys: Any, refused: str | None
) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    monkeypatch.setenv("TMWEB_ENV", "production")
    if refused is None:
        App(str(folder), secret_key=keys)
        return
    with pytest.raises(ConfigError) as e:
        App(str(folder), secret_key=keys)
    message = str(e.value)
    assert refused in message
    assert "at least 32 bytes" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in message
    for key in keys.split(",") if isinstance(keys, str) else keys:
        assert len(key) < 10 or key not in message  # a key is named by position, never shown


def test_development_accepts_a_short_key_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("TMWEB_ENV", raising=False)
    with caplog.at_level(logging.WARNING, logger="tmweb"):
        client = TestClient(make_app(tmp_path, ADD, ASK, secret_key="tiny"))
    assert "3 + 4 = <b>7</b>" in add_flow(client)
    assert "the secret key is 4 bytes, under the 32 that production requires" in caplog.text
    assert "secrets.token_urlsafe(32)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="tmweb"):
        make_app(tmp_path / "strong", ADD, ASK, secret_key=STRONG)
    assert "production requires" not in caplog.text


def test_in_development_a_random_key_is_kept_in_the_app_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TMWEB_ENV", raising=False)
    monkeypatch.delenv("TMWEB_SECRET_KEY", raising=False)
    folder = write_app(tmp_path / "app", ADD, ASK)
    first = TestClient(App(str(folder)))
    url = k_url(first.get("/add").text)
    assert (folder / ".tmweb" / "secret_key").exists()
    # a second App (a restart) on the same folder accepts the first one's tokens (and the
    # browser's session cookie)
    again = TestClient(App(str(folder)), cookies=first.cookies)
    assert again.post(url, data={"n": "2"}).status_code == 200


def test_the_store_files_are_0600_and_the_tmweb_folder_0700(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TMWEB_ENV", raising=False)
    monkeypatch.delenv("TMWEB_SECRET_KEY", raising=False)
    monkeypatch.delenv("TMWEB_STORE", raising=False)
    folder = write_app(tmp_path / "app", ADD, ASK)
    (folder / ".tmweb").mkdir(mode=0o755)  # as an older tmweb made it
    elsewhere = tmp_path / "data" / "store.db"
    elsewhere.parent.mkdir()
    umask = os.umask(0o022)  # the usual umask, which alone would give 0644 files
    try:
        assert "3 + 4 = <b>7</b>" in add_flow(TestClient(App(str(folder))))
        other = TestClient(App(str(folder), store=f"sqlite:///{elsewhere}"))
        assert "3 + 4 = <b>7</b>" in add_flow(other)
    finally:
        os.umask(umask)
    mode = lambda p: stat.S_IMODE(p.stat().st_mode)  # noqa: E731
    assert mode(folder / ".tmweb") == 0o700
    db = folder / ".tmweb" / "continuations.sqlite3"
    for path in (db, elsewhere, folder / ".tmweb" / "secret_key"):
        assert mode(path) == 0o600, path
    companions = [p for d in (db, elsewhere) for p in d.parent.glob(d.name + "-*")]
    assert any(p.name.endswith("-wal") for p in companions)
    for path in companions:
        assert mode(path) == 0o600, path


# -- limits --------------------------------------------------------------------------------

ECHO = """
(defroute POST "/echo" [req] (str "got " (count (get (form-data req) "x"))))
(defroute GET "/ask" [req]
  (def f (send/suspend (fn [k] (html [:form {:action k :method "post"}]))))
  (str "resumed " (count (get f "x"))))
"""


def test_a_body_over_the_limit_is_413(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ECHO, max_body_bytes=100))
    assert client.post("/echo", data={"x": "a" * 50}).text == "got 50"
    r = client.post("/echo", data={"x": "a" * 200})
    assert r.status_code == 413
    assert "100 bytes" in r.text
    url = k_url(client.get("/ask").text)
    r = client.post(url, data={"x": "a" * 200})
    assert r.status_code == 413
    assert client.post(url, data={"x": "a" * 20}).text == "resumed 20"


def test_a_chunked_body_without_a_length_over_the_limit_is_413(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ECHO, max_body_bytes=100))

    def chunks() -> Any:
        yield b"x="
        for _ in range(10):
            yield b"a" * 50

    r = client.post(
        "/echo", content=chunks(), headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 413


def test_a_client_that_leaves_while_sending_its_body_gets_no_answer_and_runs_nothing(
    tmp_path: Path,
) -> None:
    src = """
    (def posts (ref 0))
    (defroute POST "/echo" [req] (swap! posts inc) "ran")
    (defroute GET "/posts" [req] (str (deref posts)))
    """
    app = make_app(tmp_path, src)
    sent: list[Any] = []
    scope = {
        "type": "http", "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/echo", "raw_path": b"/echo", "root_path": "", "query_string": b"",
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        "client": ("127.0.0.1", 5000), "server": ("test", 80),
    }  # fmt: skip
    messages = iter(
        [{"type": "http.request", "body": b"x=1&", "more_body": True}, {"type": "http.disconnect"}]
    )

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent == []
    assert TestClient(app).get("/posts").text == "0"


RUNAWAY = """
(defroute GET "/spin" [req] (loop [] (recur)))
(defroute GET "/count/{n}" [req]
  (def n (int (path-param req "n")))
  (loop [i 0] (if (< i n) (recur (inc i)) (str "counted " i))))
(defroute GET "/hello" [req] "hello")
"""


def test_a_runaway_handler_is_stopped_with_503_and_the_app_keeps_serving(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, RUNAWAY, max_steps=200_000))
    r = client.get("/spin")
    assert r.status_code == 503
    assert "too long" in r.text
    assert client.get("/hello").text == "hello"
    assert client.get("/count/1000").text == "counted 1000"
    # the step budget is per request, not per process
    for _ in range(3):
        assert client.get("/spin").status_code == 503
    assert client.get("/count/1000").text == "counted 1000"


def test_a_runaway_loop_around_an_async_python_call_is_stopped_too(tmp_path: Path) -> None:
    _ticks.clear()
    src = '(defroute GET "/aloop" [req] (loop [i 0] (myapp.tick i) (recur (inc i))))'
    client = TestClient(make_app(tmp_path, src, max_steps=20_000))
    r = client.get("/aloop")
    assert r.status_code == 503, r.text[-500:]
    assert len(_ticks) < 20_000


def test_a_long_handler_yields_to_the_event_loop(tmp_path: Path) -> None:
    app = make_app(tmp_path, RUNAWAY)
    done: list[str] = []

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:

            async def get(path: str) -> None:
                r = await c.get(path)
                assert r.status_code == 200, r.text
                done.append(path)

            long = asyncio.ensure_future(get("/count/2000000"))
            await asyncio.sleep(0.05)  # the long handler is running now
            await get("/hello")
            await long

    asyncio.run(go())
    assert done == ["/hello", "/count/2000000"]


BIG = """
(defroute GET "/big" [req]
  (def big (apply str (map (fn [i] "0123456789") (range 200))))
  (def f (send/suspend (fn [k] (html [:a {:href k} "go"]))))
  (count big))
(defroute GET "/small" [req]
  (def f (send/suspend (fn [k] (html [:a {:href k} "go"]))))
  "small")
"""


def test_a_continuation_over_the_size_limit_is_a_clear_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(make_app(tmp_path, BIG, max_continuation_bytes=1500, debug=True))
    r = client.get("/big")
    assert r.status_code == 500
    assert "over the limit of 1,500 bytes" in r.text
    assert "max_continuation_bytes" in r.text
    assert client.get("/small").status_code == 200


def test_the_size_limit_error_is_logged_in_production_mode(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(make_app(tmp_path, BIG, max_continuation_bytes=1500, debug=False))
    with caplog.at_level(logging.ERROR, logger="tmweb"):
        r = client.get("/big")
    assert r.status_code == 500
    assert "over the limit" not in r.text
    assert "over the limit of 1,500 bytes" in caplog.text


# -- errors --------------------------------------------------------------------------------

FAILING = """
(defn explode [x]
  (throw (error (str "boom " x)))
  nil)

(defroute GET "/fail" [req]
  (str "never " (explode "<b>1</b>")))

(defroute GET "/type" [req]
  (+ 1 "a"))

(defn explode-in-tail [x]
  (throw (error (str "thrown in tail position " x))))

(defroute GET "/tail" [req]
  (explode-in-tail 1))

(defroute GET "/after-resume" [req]
  (def f (send/suspend (fn [k] (html [:a {:href k} "go"]))))
  (str "x" (explode (get f "v"))))
"""


def test_the_debug_error_page_shows_the_turmeric_stack_trace_with_source(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, FAILING, debug=True))
    r = client.get("/fail")
    assert r.status_code == 500
    assert "boom &lt;b&gt;1&lt;/b&gt;" in r.text
    assert "<b>1</b>" not in r.text
    assert "Turmeric stack trace" in r.text
    assert "main.explode" in r.text
    assert "main.tm:2:3" in r.text
    assert "main.tm:6:" in r.text
    assert '<span class="here">   2    (throw (error (str &#34;boom &#34; x)))</span>' in r.text
    assert "Traceback" not in r.text
    r = client.get("/type")
    assert r.status_code == 500
    assert "type-error" in r.text
    assert "main.tm:9:" in r.text


def test_an_error_after_a_resume_has_a_trace_too(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, FAILING, debug=True))
    url = k_url(client.get("/after-resume").text)
    r = client.get(url, params={"v": "late"})
    assert r.status_code == 500
    assert "boom late" in r.text
    assert "main.explode" in r.text


def test_an_error_thrown_in_tail_position_still_names_its_source_line(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, FAILING, debug=True))
    r = client.get("/tail")
    assert r.status_code == 500
    assert "thrown in tail position" in r.text
    assert "main.explode-in-tail" in r.text
    assert "main.tm:12:3" in r.text


def test_without_debug_the_error_page_is_plain_and_the_trace_goes_to_the_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(make_app(tmp_path, FAILING, debug=False))
    with caplog.at_level(logging.ERROR, logger="tmweb"):
        r = client.get("/fail")
    assert r.status_code == 500
    assert "Something went wrong" in r.text
    for secret in ("boom", "main.tm", "explode", "stack trace", "Traceback"):
        assert secret not in r.text
    assert "boom <b>1</b>" in caplog.text
    assert "main.tm:2:3" in caplog.text


def test_a_store_that_is_down_gives_a_503_page(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, ADD, ASK, store=DownStore()))
    r = client.get("/add")
    assert r.status_code == 503
    assert "Temporarily unavailable" in r.text
    up = make_app(tmp_path / "other", ADD, ASK)
    token, _ = up.tokens.new(60, False)
    r = TestClient(make_app(tmp_path / "third", ADD, ASK, store=DownStore())).get(f"/k/{token}")
    assert r.status_code == 503


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/string", 200),
        ("/json", 200),
        ("/redirect", 302),
        ("/response", 418),
        ("/nowhere", 404),
        ("/k/garbage", 400),
        ("/static/site.css", 200),
        ("/fail", 500),
        ("/spin", 503),
    ],
)
def test_every_response_has_referrer_policy_same_origin(
    tmp_path: Path, path: str, status: int
) -> None:
    src = RESPONSES + RUNAWAY + FAILING
    folder = write_app(tmp_path / "app", src, PAGE, static={"site.css": "p{}"})
    client = TestClient(App(str(folder), secret_key=KEY, max_steps=100_000), follow_redirects=False)
    r = client.get(path)
    assert r.status_code == status
    assert r.headers["referrer-policy"] == "same-origin"


def test_referrer_policy_on_410_and_413_and_suspend_pages(tmp_path: Path) -> None:
    app = make_app(tmp_path, ECHO, max_body_bytes=100)
    client = TestClient(app)
    page = client.get("/ask")
    assert page.headers["referrer-policy"] == "same-origin"
    unknown, _ = app.tokens.new(60, False)
    assert client.get(f"/k/{unknown}").headers["referrer-policy"] == "same-origin"
    assert client.post("/echo", data={"x": "a" * 200}).headers["referrer-policy"] == "same-origin"


# -- Python functions ------------------------------------------------------------------------

_signal: dict[str, asyncio.Event] = {}


async def _fetch(x: Any) -> str:
    await asyncio.sleep(0.01)
    return f"fetched {x}"


def _shout(x: Any) -> str:
    return str(x).upper()


async def _wait_for_signal() -> str:
    await asyncio.wait_for(_signal["ev"].wait(), timeout=5)
    return "signalled"


async def _send_signal() -> str:
    _signal["ev"].set()
    return "sent"


_counted_calls: list[Any] = []


async def _counted(x: Any) -> str:
    _counted_calls.append(x)
    if len(_counted_calls) > 3:
        raise RuntimeError(f"myapp.counted called {len(_counted_calls)} times for one call")
    return f"counted {x}"


_ticks: list[Any] = []


async def _tick(i: Any) -> Any:
    _ticks.append(i)
    if len(_ticks) > 20_000:
        raise RuntimeError(f"myapp.tick called {len(_ticks)} times: the step limit never hit")
    return i


register_python("myapp.tick", _tick)
register_python("myapp.fetch", _fetch)
register_python("myapp.counted", _counted)
register_python("myapp.shout", _shout)
register_python("myapp.wait-for-signal", _wait_for_signal)
register_python("myapp.send-signal", _send_signal)

PYTHON = """
(defroute GET "/fetch" [req]
  (str (myapp.fetch (query-param req "q")) " " (myapp.shout "ok")))

(defroute GET "/fetch-later" [req]
  (def f myapp.fetch)
  (def first (f "before"))
  (def form (send/suspend (fn [k] (html [:a {:href k} first]))))
  (str first ", " (f (get form "q")) ", " (apply myapp.shout [(get form "q")])))

(defroute GET "/wait" [req] (str (myapp.wait-for-signal)))
(defroute GET "/signal" [req] (str (myapp.send-signal)))
(defroute GET "/tail" [req] (myapp.counted (query-param req "q")))
"""


def test_an_async_python_function_is_called_by_its_registered_name(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, PYTHON))
    r = client.get("/fetch", params={"q": "tea"})
    assert r.status_code == 200, r.text
    assert r.text == "fetched tea OK"


def test_an_async_python_function_called_in_tail_position_is_called_once(tmp_path: Path) -> None:
    _counted_calls.clear()
    client = TestClient(make_app(tmp_path, PYTHON))
    r = client.get("/tail", params={"q": "x"})
    assert _counted_calls == ["x"]
    assert r.status_code == 200, r.text
    assert r.text == "counted x"


def test_a_python_function_held_in_a_continuation_survives_the_suspend(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, PYTHON))
    page = client.get("/fetch-later")
    assert "fetched before" in page.text
    r = client.get(k_url(page.text), params={"q": "after"})
    assert r.status_code == 200, r.text
    assert r.text == "fetched before, fetched after, AFTER"


def test_an_async_python_function_does_not_block_the_event_loop(tmp_path: Path) -> None:
    app = make_app(tmp_path, PYTHON)

    async def go() -> list[str]:
        _signal["ev"] = asyncio.Event()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
            waiting = asyncio.ensure_future(c.get("/wait"))
            await asyncio.sleep(0.05)
            sent = await c.get("/signal")
            got = await asyncio.wait_for(waiting, timeout=5)
            return [sent.text, got.text]

    assert asyncio.run(go()) == ["sent", "signalled"]


# -- mounted under a prefix ------------------------------------------------------------------

MOUNTED = (
    ADD
    + """
(defroute GET "/links" [req]
  (html [:a {:href (url-for "/add")} "add"]
        [:a {:href (url-for "next")} "next"]))

(defroute GET "/tpl" [req] (render "links.html" {}))

(defroute POST "/order" [req]
  (def item (get (form-data req) "item"))
  (redirect/get)
  (str "ordered " item))

(defroute GET "/low" [req]
  (def n (cloneable-shift [k]
           (html [:a {:href (continuation-url (save-continuation k))} "go"])))
  (str "low " (get n "x")))

(defroute GET "/home" [req] (redirect (url-for "/links")))
"""
    + DISPATCH
)

MOUNT_TEMPLATES = {
    **ASK,
    "links.html": '<a href="{{ url_for("/add") }}">add</a>',
    "tmweb/bad_token.html": "<p>custom bad link, start at {{ start_url }}</p>",
}


@pytest.fixture
def shop(tmp_path: Path) -> tuple[TestClient, App]:
    folder = write_app(tmp_path / "shop", MOUNTED, MOUNT_TEMPLATES, static={"site.css": "p{}"})
    app = App(str(folder), secret_key=KEY)
    outer = Starlette(routes=[Mount("/shop", app=app)])
    return TestClient(outer, follow_redirects=False), app


def test_a_mounted_app_runs_the_flow_with_prefixed_continuation_urls(
    shop: tuple[TestClient, App],
) -> None:
    client, _ = shop
    first = client.get("/shop/add")
    assert first.status_code == 200, first.text
    url1 = k_url(first.text)
    assert url1.startswith("/shop/k/")
    posted = client.post(url1, data={"n": "3"})
    assert posted.status_code == 303 and posted.headers["location"].startswith("/shop/k/")
    second = client.get(posted.headers["location"])
    url2 = k_url(second.text)
    assert url2 == posted.headers["location"]
    posted = client.post(url2, data={"n": "4"})  # the answer too has a GET URL under the prefix
    assert posted.status_code == 303 and posted.headers["location"].startswith("/shop/k/")
    done = client.get(posted.headers["location"])
    assert "3 + 4 = <b>7</b>" in done.text
    assert done.headers["referrer-policy"] == "same-origin"


def test_url_for_carries_the_mount_prefix(shop: tuple[TestClient, App]) -> None:
    client, _ = shop
    page = client.get("/shop/links").text
    assert 'href="/shop/add"' in page
    assert 'href="/shop/next"' in page
    assert client.get("/shop/tpl").text == '<a href="/shop/add">add</a>'
    r = client.get("/shop/home")
    assert r.headers["location"] == "/shop/links"


def test_redirect_get_through_a_mount(shop: tuple[TestClient, App]) -> None:
    client, _ = shop
    r = client.post("/shop/order", data={"item": "tea"})
    assert r.status_code == 303
    assert r.headers["location"].startswith("/shop/k/")
    assert client.get(r.headers["location"]).text == "ordered tea"


def test_dispatch_and_continuation_url_through_a_mount(shop: tuple[TestClient, App]) -> None:
    client, _ = shop
    red, blue = k_urls(client.get("/shop/pick").text)
    assert red.startswith("/shop/k/") and blue.startswith("/shop/k/")
    assert client.get(blue, params={"shade": "pale"}).text == "you chose blue pale"
    url = k_url(client.get("/shop/low").text)
    assert url.startswith("/shop/k/")
    assert client.get(url, params={"x": "9"}).text == "low 9"


def test_tmweb_pages_through_a_mount_link_to_the_mount(shop: tuple[TestClient, App]) -> None:
    client, app = shop
    unknown, _ = app.tokens.new(60, False)
    r = client.get(f"/shop/k/{unknown}")
    assert r.status_code == 410
    assert 'href="/shop/"' in r.text
    r = client.get("/shop/k/tampered")
    assert r.status_code == 400
    assert r.text == "<p>custom bad link, start at /shop/</p>"
    assert r.headers["referrer-policy"] == "same-origin"


def test_static_files_through_a_mount(shop: tuple[TestClient, App]) -> None:
    client, _ = shop
    r = client.get("/shop/static/site.css")
    assert r.status_code == 200
    assert r.text == "p{}"


def test_a_continuation_made_under_a_mount_is_not_served_outside_it(
    shop: tuple[TestClient, App],
) -> None:
    client, _ = shop
    url = k_url(client.get("/shop/add").text)
    assert client.post(url.removeprefix("/shop"), data={"n": "1"}).status_code == 404


# -- what a suspended handler may hold ------------------------------------------------------

HOLDING = """
(defn ask [label]
  (get (send/suspend (fn [k] (html [:form {:action k :method "post"} label]))) "v"))

(defroute GET "/map" [req] (json (mapv ask ["a" "b" "c"])))

(defroute GET "/reduce" [req]
  (str (reduce (fn [acc label] (+ acc (int (ask label)))) 0 ["x" "y"])))

(defroute GET "/loop" [req]
  (loop [n 0]
    (def op (ask (str "n=" n)))
    (if (= op "done") (str "final " n) (recur (inc n)))))

(defroute GET "/try" [req]
  (try
    (def v (ask "number"))
    (str "ok " (+ 1 (int v)))
    (catch [e] (str "caught " (type-of e)))))

(def visits (ref 0))
(defroute GET "/visit" [req] (str (swap! visits inc)))
(defroute GET "/global" [req]
  (ask "global")
  (str "visits " (deref visits)))

(struct point [x y])
(defroute GET "/struct" [req]
  (def p (point 1 12345678901234567890123))
  (def label "été ✓")
  (ask label)
  (str p.x "," p.y " " (point? p) " " label))

(defroute GET "/file" [req]
  (def fh (open-file (query-param req "path")))
  (ask "file")
  "never")
"""


def _answer_all(client: TestClient, path: str, answers: list[str]) -> Any:
    page = client.get(path)
    for a in answers:
        assert page.status_code == 200, page.text
        page = client.post(k_url(page.text), data={"v": a})
    return page


def test_a_handler_suspends_inside_map_reduce_and_loop(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, HOLDING))
    assert _answer_all(client, "/map", ["1", "2", "3"]).json() == ["1", "2", "3"]
    assert _answer_all(client, "/reduce", ["1", "2"]).text == "3"
    assert _answer_all(client, "/loop", ["go", "go", "done"]).text == "final 2"


def test_a_try_around_a_suspend_catches_errors_after_the_resume(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, HOLDING))
    url = k_url(client.get("/try").text)
    assert client.post(url, data={"v": "41"}).text == "ok 42"
    assert client.post(url, data={"v": "x"}).text == "caught type-error"


def test_module_globals_are_live_after_a_resume_and_locals_are_kept(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, HOLDING))
    url = k_url(client.get("/global").text)
    client.get("/visit")
    client.get("/visit")
    assert client.post(url).text == "visits 2"
    url = k_url(client.get("/struct").text)
    assert client.post(url).text == "1,12345678901234567890123 #t été ✓"


def test_a_local_that_cannot_be_serialized_is_a_clear_error(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, HOLDING, debug=True))
    r = client.get("/file", params={"path": str(tmp_path / "app" / "main.tm")})
    assert r.status_code == 500
    assert "not-serializable" in r.text
    assert "FileHandle" in r.text
    assert "variable fh" in r.text


def test_after_a_code_change_an_old_continuation_is_410_unless_its_code_is_unchanged(
    tmp_path: Path,
) -> None:
    src = """
    (defn helper [] 1)
    (defroute GET "/step" [req]
      (def v (get (send/suspend (fn [k] (html [:a {:href k} "go"]))) "v"))
      (str "got " v))
    """
    folder = write_app(tmp_path / "app", src)
    browser = TestClient(App(str(folder), secret_key=KEY))
    url = k_url(browser.get("/step").text)

    def restarted() -> TestClient:  # a new server process, the same browser
        return TestClient(App(str(folder), secret_key=KEY), cookies=browser.cookies)

    # another function changed: the continuation still resumes after the restart
    write_app(folder, src.replace("(defn helper [] 1)", "(defn helper [] 2)"))
    assert restarted().get(url, params={"v": "a"}).text == "got a"
    # the suspended handler itself changed: the page expired
    write_app(folder, src.replace('(str "got " v)', '(str "GOT " v)'))
    r = restarted().get(url, params={"v": "a"})
    assert r.status_code == 410
    assert "expired" in r.text
    # the handler is gone
    write_app(folder, src.replace('"/step"', '"/other"'))
    assert restarted().get(url).status_code == 410


def test_without_debug_the_410_page_does_not_show_code_symbols(tmp_path: Path) -> None:
    src = """
    (defroute GET "/step" [req]
      (def v (send/suspend (fn [k] (html [:a {:href k} "go"]))))
      "one")
    """
    folder = write_app(tmp_path / "app", src)
    browser = TestClient(App(str(folder), secret_key=KEY))
    url = k_url(browser.get("/step").text)
    write_app(folder, src.replace('"one"', '"two"'))
    r = TestClient(App(str(folder), secret_key=KEY, debug=False), cookies=browser.cookies).get(url)
    assert r.status_code == 410
    assert "main.GET /step" not in r.text
    assert "program version" not in r.text
