"""Flows and the browser (SPEC 2.6, issue 10): send/forward, send/finish, GET and HEAD of a
step, Post/Redirect/Get, one-shot links opened without a click. Every test runs against the
embedded SQLite store and a real Redis.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tmweb.lang import register_python

from .test_app import CountingStore, k_url, k_urls, make_app

CLICK = {"sec-fetch-user": "?1", "sec-fetch-mode": "navigate"}

#: A checkout in three steps: cart, address, payment; payment charges and then forwards.
SHOP = """
(defn form-page [title url & extra]
  (html [:h1 title] [:form {:method "post" :action url} [:input {:name "v"}] [:button "Next"]]
        (apply str extra)))

(defroute GET "/shop" [req]
  (let [cart (get (send/suspend (fn [u] (form-page "Cart" u))) "v")
        addr (get (send/suspend (fn [u] (form-page "Address" u))) "v")
        card (get (send/suspend (fn [u] (form-page "Payment" u)) :once #t) "v")]
    (charge! cart)
    (send/forward (fn [u] (form-page (str "Paid " cart " to " addr) u)))
    (send/finish (html [:h1 "Thanks"]) :done-url "/orders/1")))
"""

CHARGES: list[str] = []


def _charge(cart: Any) -> None:
    CHARGES.append(cart)


register_python("testflows.charge!", _charge)


SHOP = SHOP.replace("(charge! cart)", "(testflows.charge! cart)")


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "redis":
        return request.getfixturevalue("redis_url")
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(autouse=True)
def _no_charges() -> None:
    CHARGES.clear()


def client(tmp_path: Path, src: str, store: str, **kw: Any) -> TestClient:
    return TestClient(make_app(tmp_path, src, store=store, **kw), follow_redirects=False)


def post(c: TestClient, url: str, v: str = "x") -> Any:
    return c.post(url, data={"v": v})


def answer(c: TestClient, r: Any) -> Any:
    """What the browser shows for a POST's answer: a 303 is followed by a GET."""
    return c.get(r.headers["location"]) if r.status_code == 303 else r


def test_get_of_a_post_step_shows_its_page_again_and_uses_nothing(tmp_path: Path, store: str) -> None:
    c = client(tmp_path, SHOP, store)
    cart = k_url(c.get("/shop").text)
    for _ in range(2):  # a reload, a new tab
        again = c.get(cart, headers=CLICK)
        assert again.status_code == 200 and "Cart" in again.text and k_url(again.text) == cart
    r = post(c, cart, "socks")
    assert r.status_code == 303  # Post/Redirect/Get
    address = r.headers["location"]
    page = c.get(address, headers=CLICK)
    assert "Address" in page.text and k_url(page.text) == address


def test_head_answers_headers_only_and_uses_nothing(tmp_path: Path, store: str) -> None:
    c = client(tmp_path, SHOP, store)
    cart = k_url(c.get("/shop").text)
    address = post(c, cart).headers["location"]
    payment = post(c, address).headers["location"]
    h = c.head(payment)
    assert (h.status_code, h.content) == (200, b"")
    assert c.get(payment, headers=CLICK).status_code == 200  # one-shot still there
    assert post(c, payment).status_code == 303


def test_head_of_a_route_stores_nothing(tmp_path: Path, store: str) -> None:
    app = make_app(tmp_path, SHOP, store=store)
    counting = CountingStore(app.continuations.store)
    app.continuations.store = counting
    c = TestClient(app)
    assert c.head("/shop").status_code == 200
    assert not [call for call in counting.calls if call[0] == "put"]
    c.get("/shop")
    assert [call for call in counting.calls if call[0] == "put"]


def test_send_forward_expires_every_earlier_step_of_the_flow_only(tmp_path: Path, store: str) -> None:
    c = client(tmp_path, SHOP, store)
    other_cart = k_url(c.get("/shop").text)  # another flow
    cart = k_url(c.get("/shop").text)
    address = post(c, cart, "socks").headers["location"]
    payment = post(c, address, "home").headers["location"]
    paid = post(c, payment, "4242").headers["location"]
    assert CHARGES == ["socks"]
    assert "Paid socks to home" in c.get(paid, headers=CLICK).text
    for old in (cart, address, payment):
        r = post(c, old, "again")
        assert r.status_code == 410, old
        assert "already completed" in r.text
        assert 'href="/shop"' in r.text  # the start of the flow's route
    assert CHARGES == ["socks"]
    assert post(c, other_cart, "hat").status_code == 303  # the other flow is untouched


def test_send_finish_expires_the_flow_and_links_to_the_apps_page(tmp_path: Path, store: str) -> None:
    c = client(tmp_path, SHOP, store)
    cart = k_url(c.get("/shop").text)
    paid = post(c, post(c, post(c, cart).headers["location"]).headers["location"]).headers["location"]
    done = post(c, paid)
    assert done.status_code == 303  # the answer, kept behind a GET URL (answers.py)
    for _ in range(2):  # the redirect's GET, a reload
        assert "Thanks" in c.get(done.headers["location"]).text
    r = post(c, paid)
    assert r.status_code == 410 and 'href="/orders/1"' in r.text and 'href="/shop"' in r.text


def test_fifty_concurrent_payments_charge_once(tmp_path: Path, store: str) -> None:
    app = make_app(tmp_path, SHOP, store=store)
    c = TestClient(app, follow_redirects=False)
    cart = k_url(c.get("/shop").text)
    payment = post(c, post(c, cart, "socks").headers["location"]).headers["location"]

    async def pay_fifty() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", cookies=dict(c.cookies)  # one browser
        ) as ac:
            rs = await asyncio.gather(*(ac.post(payment, data={"v": "4242"}) for _ in range(50)))
        return [r.status_code for r in rs]

    codes = asyncio.run(pay_fifty())
    assert sorted(codes) == [303] + [410] * 49
    assert CHARGES == ["socks"]


def test_without_redirect_after_post_a_post_answers_the_next_page(tmp_path: Path, store: str) -> None:
    c = client(tmp_path, SHOP, store, redirect_after_post=False)
    cart = k_url(c.get("/shop").text)
    r = post(c, cart)
    assert r.status_code == 200 and "Address" in r.text


LINKS = """
(defn counter [& opts]
  (loop [n 0]
    (recur (apply send/suspend/dispatch
             (fn [embed/url] (html [:p (str "n=" n)] [:a {:href (embed/url (fn [_] (+ n 100)))} "+100"]))
             opts))))
(defroute GET "/count" [req] (counter))
(defroute GET "/once" [req] (counter :once #t))
"""


def test_a_one_shot_link_opened_without_a_click_is_not_used_up(tmp_path: Path, store: str) -> None:
    c = client(tmp_path, LINKS, store)
    plus = k_url(c.get("/count").text)
    assert "n=100" in c.get(plus).text  # a plain link resumes by any GET
    assert "n=100" in c.get(plus).text
    once = k_url(c.get("/once").text)
    preview = c.get(once)  # a link preview: no Sec-Fetch-User
    assert preview.status_code == 200 and "Continue?" in preview.text
    assert c.get(once, headers={**CLICK, "sec-purpose": "prefetch"}).status_code == 200
    assert c.head(once).status_code == 200
    clicked = c.get(once, headers=CLICK)
    assert "n=100" in clicked.text
    assert c.get(once, headers=CLICK).status_code == 410


def test_a_get_form_step_resumes_by_get(tmp_path: Path, store: str) -> None:
    src = """
    (defroute GET "/ask" [req]
      (let [d (send/suspend (fn [u] (html [:form {:method "get" :action u} [:input {:name "q"}]])))]
        (str "q=" (get d "q"))))
    """
    c = client(tmp_path, src, store)
    u = k_url(c.get("/ask").text)
    assert c.get(u + "?q=hi", headers=CLICK).text == "q=hi"


def test_a_dispatch_page_with_post_forms_is_shown_again_by_get(tmp_path: Path, store: str) -> None:
    src = """
    (defroute GET "/pick" [req]
      (send/suspend/dispatch
        (fn [embed/url]
          (html [:h1 "Pick"]
                [:form {:method "post" :action (embed/url (fn [d] (str "tea " (get d "v"))))} [:button "Tea"]]
                [:a {:href (embed/url (fn [_] "coffee"))} "Coffee"]))))
    """
    c = client(tmp_path, src, store)
    page = c.get("/pick").text
    tea, coffee = k_urls(page)
    again = c.get(tea, headers=CLICK)  # a reload of the form's URL: the page, nothing runs
    assert again.status_code == 200 and "<h1>Pick</h1>" in again.text
    assert answer(c, post(c, tea, "green")).text == "tea green"
    assert c.get(coffee).text == "coffee"  # a link resumes by GET
    fresh_tea = k_urls(again.text)[0]  # the page shown again has working URLs of its own
    assert answer(c, post(c, fresh_tea, "black")).text == "tea black"
