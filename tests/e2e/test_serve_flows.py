"""Flows through a real `tmweb serve` (issue 10): Post/Redirect/Get, GET and HEAD of a step,
send/forward across two worker processes, 50 concurrent payments, on SQLite and Redis.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .test_serve import Server, k_url, serve, write_app  # noqa: F401  (serve is a fixture)

CLICK = {"sec-fetch-user": "?1", "sec-fetch-mode": "navigate"}

# charges are appended to one file (O_APPEND) by a Python function the server imports, so
# every worker process's charges are counted
CHARGER = """
import os
from tmweb.lang import register_python

def charge(cart):
    fd = os.open("charges.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (cart + "\\n").encode())
    finally:
        os.close(fd)

register_python("flowtest.charge", charge)
"""

SRC = """
(defn form-page [title url]
  (html [:h1 title] [:form {:method "post" :action url} [:input {:name "v"}] [:button "Next"]]))

(defroute GET "/shop" [req]
  (let [cart (get (send/suspend (fn [u] (form-page "Cart" u))) "v")
        card (get (send/suspend (fn [u] (form-page "Payment" u)) :once #t) "v")]
    (flowtest.charge cart)
    (send/forward (fn [u] (form-page (str "Paid for " cart) u)))
    (send/finish (html [:h1 "Thanks"]))))
"""


@pytest.fixture(params=["sqlite", "redis"])
def store_args(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "redis":
        return ["--store", request.getfixturevalue("redis_url")]
    return []


def charges(folder: Path) -> list[str]:
    path = folder / "charges.txt"
    return path.read_text().split() if path.exists() else []


def test_a_flow_through_two_workers(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    app = write_app(tmp_path / "app", SRC)
    (tmp_path / "logs" / "flowcharger.py").write_text(CHARGER)
    server = serve(app, "--workers", "2", "--import", "flowcharger", *store_args)
    cart = k_url(server.get("/shop").text)
    # a reload of the step's URL shows its page, and HEAD uses nothing
    assert "Cart" in server.get(cart, headers=CLICK).text
    assert server.post(cart, data={"v": "mug"}, follow_redirects=False).status_code == 303
    # back, and submit the cart again: the next step's URL, Post/Redirect/Get
    payment = server.post(cart, data={"v": "socks"}, follow_redirects=False).headers["location"]
    h = httpx.head(server.base + payment, timeout=10)
    assert (h.status_code, h.content) == (200, b"")
    assert "Payment" in server.get(payment, headers=CLICK).text

    def pay(_: int) -> int:
        with httpx.Client(base_url=server.base, timeout=30) as c:
            return c.post(payment, data={"v": "4242"}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=10) as pool:
        codes = list(pool.map(pay, range(50)))
    assert sorted(codes) == [303] + [410] * 49
    assert charges(server.logdir) == ["socks"]
    # send/forward: every earlier step of the flow is gone in both workers
    for old in (cart, payment):
        for _ in range(4):  # the two workers take turns
            r = server.post(old, data={"v": "again"}, follow_redirects=False)
            assert r.status_code == 410 and "already completed" in r.text
            assert 'href="/shop"' in r.text
    assert charges(server.logdir) == ["socks"]
