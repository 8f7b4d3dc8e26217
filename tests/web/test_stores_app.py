"""The suspend/resume flows of an App, run against every store: the embedded SQLite default
and Redis (`store=redis_url`, a real redis-server from the `redis_server` fixture)."""

from __future__ import annotations

import logging
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from starlette.testclient import TestClient

from tmweb.web.app import App

if TYPE_CHECKING:
    from tests.conftest import FakeClock

KEY = "stores-test-key"
K_URL = re.compile(r'(?:action|href)="([^"]*/k/[^"]+)"')

SRC = """
(defn ask-number [label]
  (def form
    (send/suspend
      (fn [k-url]
        (html [:form {:method "post" :action k-url} label [:input {:name "n"}]]))))
  (int (get form "n")))

(defroute GET "/add" [req]
  (def a (ask-number "First number"))
  (def b (ask-number "Second number"))
  (str a " + " b " = " (+ a b)))

(defroute GET "/pay" [req]
  (def form (send/suspend (fn [k] (html [:a {:href k} "pay"])) :once #t))
  (str "paid " (get form "amount")))

(defroute GET "/pick" [req]
  (def choice
    (send/suspend/dispatch
      (fn [embed/url]
        (html [:a {:href (embed/url (fn [d] "tea"))} "tea"]
              [:a {:href (embed/url (fn [d] "coffee"))} "coffee"]))))
  (str "chose " choice))

(defroute POST "/order" [req]
  (def item (get (form-data req) "item"))
  (redirect/get)
  (str "ordered " item))

(defroute GET "/short" [req]
  (def f (send/suspend (fn [k] (html [:a {:href k} "go"])) :ttl 1))
  "resumed")
"""


def k_urls(page: str) -> list[str]:
    return K_URL.findall(page)


def k_url(page: str) -> str:
    urls = k_urls(page)
    assert urls, f"no continuation URL in:\n{page}"
    return urls[0]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "main.tm").write_text(textwrap.dedent(SRC).lstrip(), encoding="utf-8")
    return folder


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, clock: FakeClock) -> str | None:
    """None is the embedded SQLite default; "redis" a flushed database of the test Redis,
    whose TTLs follow `clock`."""
    if request.param == "sqlite":
        return None
    url = request.getfixturevalue("redis_url")
    clock.follow(url)
    return url


def make_client(folder: Path, store_url: str | None, clock: FakeClock | None = None) -> TestClient:
    """A client of a fresh App; use it in a `with` block, so it keeps one event loop."""
    kw = {} if clock is None else {"clock": clock}
    app = App(str(folder), store=store_url, secret_key=KEY, **kw)
    return TestClient(app, follow_redirects=False)


@pytest.fixture
def client(folder: Path, store_url: str | None, clock: FakeClock) -> Iterator[TestClient]:
    with make_client(folder, store_url, clock) as client:
        yield client


CLICK = {"sec-fetch-user": "?1"}  # what a browser sends when a person follows a link


def submit(client: TestClient, url: str, data: dict[str, str]) -> Any:
    """POST a form as a browser does: follow Post/Redirect/Get's 303 to the next page."""
    r = client.post(url, data=data)
    if r.status_code == 303:
        r = client.get(r.headers["location"], headers=CLICK)
    return r


def test_the_add_flow_suspends_and_resumes(client: TestClient) -> None:
    first = client.get("/add")
    assert first.status_code == 200, first.text
    second = submit(client, k_url(first.text), {"n": "3"})
    assert second.status_code == 200, second.text
    assert "Second number" in second.text
    done = submit(client, k_url(second.text), {"n": "4"})
    assert done.text == "3 + 4 = 7"


def test_the_back_button_reuses_an_older_continuation(client: TestClient) -> None:
    k1 = k_url(client.get("/add").text)
    k2 = k_url(submit(client, k1, {"n": "3"}).text)
    assert submit(client, k2, {"n": "4"}).text == "3 + 4 = 7"
    assert submit(client, k2, {"n": "5"}).text == "3 + 5 = 8"
    k2b = k_url(submit(client, k1, {"n": "10"}).text)
    assert submit(client, k2b, {"n": "1"}).text == "10 + 1 = 11"


def test_a_one_shot_continuation_is_taken_once(client: TestClient) -> None:
    url = k_url(client.get("/pay").text)
    assert client.get(url, params={"amount": "5"}, headers=CLICK).text == "paid 5"
    assert client.get(url, params={"amount": "5"}, headers=CLICK).status_code == 410


def test_dispatch_links_and_redirect_get(client: TestClient) -> None:
    tea, coffee = k_urls(client.get("/pick").text)
    assert client.get(coffee).text == "chose coffee"
    assert client.get(tea).text == "chose tea"
    r = client.post("/order", data={"item": "cake"})
    assert r.status_code == 303
    assert client.get(r.headers["location"]).text == "ordered cake"


def test_an_unknown_token_is_410(client: TestClient, folder: Path) -> None:
    token, _ = App(str(folder), secret_key=KEY).tokens.new(60, False)
    assert client.get(f"/k/{token}").status_code == 410


def test_a_continuation_expires_after_its_ttl(client: TestClient, clock: FakeClock) -> None:
    url = k_url(client.get("/short").text)
    clock.advance(0.5)
    assert client.get(url).text == "resumed"
    clock.advance(1.0)  # the token is 1 s old, within its TTL: the store has expired it
    assert client.get(url).status_code == 410


def test_another_app_on_the_same_store_resumes_the_continuation(
    folder: Path, store_url: str | None
) -> None:
    """Two server processes sharing a store, simulated by two App objects."""
    with make_client(folder, store_url) as first, make_client(folder, store_url) as second:
        url = k_url(first.get("/add").text)
        second.cookies = first.cookies  # one browser, two server processes
        page = submit(second, url, {"n": "20"})
        assert page.status_code == 200, page.text
        assert submit(first, k_url(page.text), {"n": "22"}).text == "20 + 22 = 42"


def test_redis_keys_carry_the_prefix_and_expire_by_the_ttl(folder: Path, redis_url: str) -> None:
    import redis

    app = App(str(folder), store=redis_url + "?prefix=shop1:", secret_key=KEY, ttl=60)
    with TestClient(app) as client:
        k_url(client.get("/add").text)
    r = redis.Redis.from_url(redis_url)
    try:
        keys = r.keys("*")
        assert keys  # the continuation, and its flow's generation counter
        for key in keys:
            assert key.startswith(b"shop1:")
            assert 0 < r.ttl(key) <= 60
    finally:
        r.close()


def test_a_stopped_redis_is_503_and_the_app_recovers_when_it_is_back(
    folder: Path, redis_server, redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    if not redis_server.can_restart:
        pytest.skip("the test Redis cannot be stopped")
    with TestClient(App(str(folder), store=redis_url, secret_key=KEY)) as client:
        url = k_url(client.get("/add").text)
        redis_server.stop()
        try:
            with caplog.at_level(logging.ERROR, logger="tmweb"):
                down = client.post(url, data={"n": "1"})
                start = client.get("/add")
            assert down.status_code == 503
            assert "Temporarily unavailable" in down.text
            assert start.status_code == 503
            assert "Redis" in caplog.text
        finally:
            redis_server.start()
        # the same App, no restart: the store reconnects by itself
        again = client.get("/add")
        assert again.status_code == 200, again.text
        assert client.post(k_url(again.text), data={"n": "1"}).status_code == 200
