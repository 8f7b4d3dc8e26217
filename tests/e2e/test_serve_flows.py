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

def charger(tmp_path: Path) -> list[str]:
    """The arguments that give a server `flowtest.charge`: `tmweb serve` checks that every
    symbol of the app is defined before it starts (issue 13)."""
    (tmp_path / "logs" / "flowcharger.py").write_text(CHARGER)
    return ["--import", "flowcharger"]


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
    h = server.head(payment)
    assert (h.status_code, h.content) == (200, b"")
    assert "Payment" in server.get(payment, headers=CLICK).text

    def pay(_: int) -> int:
        with httpx.Client(base_url=server.base, timeout=30, cookies=server.jar) as c:
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


# -- every cell of docs/web.md's "Flows and the browser" table, over HTTP ----------------

TABLE_APP = """
(defn form-page [title url]
  (html [:h1 title] [:form {:method "post" :action url} [:input {:name "v"}] [:button "Next"]]))

(defroute GET "/plain" [req]
  (html [:h1 (str "Got " (get (send/suspend (fn [u] (form-page "Step" u))) "v"))]))

(defroute GET "/once" [req]
  (html [:h1 (str "Got " (get (send/suspend (fn [u] (form-page "Step" u)) :once #t) "v"))]))

(defroute GET "/forward" [req]
  (let [v (get (send/suspend (fn [u] (form-page "Step" u))) "v")]
    (send/forward (fn [u] (form-page (str "Forwarded " v) u)))
    (html [:h1 "End"])))

(defroute GET "/finish" [req]
  (let [v (get (send/suspend (fn [u] (form-page "Step" u))) "v")]
    (send/finish (html [:h1 (str "Finished " v)]))))

(defroute GET "/link" [req]
  (send/suspend (fn [u] (html [:a {:href u} "go"])) :once #t)
  (html [:h1 "Followed"]))
"""

KINDS = ("plain", "once", "forward", "finish")


def step(server: Server, kind: str) -> str:
    """A step of `kind` in the state its column describes: current (plain, :once), or of a
    flow that went through send/forward or send/finish."""
    url = k_url(server.get("/" + kind).text)
    if kind in ("forward", "finish"):
        r = server.post(url, data={"v": "1"}, follow_redirects=False)
        assert r.status_code in (200, 303), r.text
    return url


def gone(r: httpx.Response) -> bool:
    return r.status_code == 410 and "already completed" in r.text


def shows_step(r: httpx.Response) -> bool:
    return r.status_code == 200 and "<h1>Step</h1>" in r.text


def submit(server: Server, url: str, v: str = "x") -> httpx.Response:
    """Submit the step's form as a browser does: a 303 is followed to the page it names."""
    return server.post(url, data={"v": v})


def test_every_cell_of_the_flows_table(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    server = serve(write_app(tmp_path / "app", TABLE_APP), *store_args)
    preview = {"user-agent": "Slackbot-LinkExpanding 1.0"}
    for kind in KINDS:
        # submits, goes back and submits again
        url = step(server, kind)
        if kind in ("plain", "once"):
            assert submit(server, url).status_code in (200, 303), kind
        again = submit(server, url)
        assert (again.status_code in (200, 303)) if kind == "plain" else gone(again), (kind, again.text)

        # reloads; opens in a new tab or from a bookmark (a GET with a click, or typed)
        url = step(server, kind)
        for _ in range(2):
            r = server.get(url, headers=CLICK)
            assert shows_step(r) if kind in ("plain", "once") else gone(r), (kind, r.text)
        if kind == "once":
            assert submit(server, url).status_code in (200, 303)  # still usable

        # double-submits
        url = step(server, kind)
        first, second = submit(server, url), submit(server, url)
        if kind == "plain":  # both run to the end of the handler
            assert "Got x" in first.text and "Got x" in second.text
        elif kind == "once":
            assert "Got x" in first.text and gone(second), second.text
        else:
            assert gone(first) and gone(second)

        # a link preview or prefetch, then HEAD
        url = step(server, kind)
        for headers in (preview, {"sec-purpose": "prefetch", **CLICK}):
            r = server.get(url, headers=headers)
            assert shows_step(r) if kind in ("plain", "once") else gone(r), (kind, r.text)
        h = server.head(url)
        assert h.status_code == (200 if kind in ("plain", "once") else 410) and h.content == b""
        if kind in ("plain", "once"):
            assert "Got x" in submit(server, url).text  # nothing was used

    # a one-shot link: a preview gets the Continue page, the click uses it
    link = k_url(server.get("/link").text)
    r = server.get(link, headers=preview)
    assert r.status_code == 200 and "Continue?" in r.text
    assert server.head(link).status_code == 200
    assert "Followed" in server.get(link, headers=CLICK).text
    r = server.get(link, headers=CLICK)
    assert gone(r), r.text


def test_another_browser_cannot_use_a_payment_url(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    # issue 11, finding 4: a second client with no cookie opened another user's payment URL
    server = serve(write_app(tmp_path / "app", SRC), *charger(tmp_path), *store_args)
    cart = k_url(server.get("/shop").text)
    payment = server.post(cart, data={"v": "socks"}, follow_redirects=False).headers["location"]
    with httpx.Client(base_url=server.base, timeout=10) as stranger:
        for method in ("GET", "POST"):
            r = stranger.request(method, payment, data={"v": "1"} if method == "POST" else None)
            assert r.status_code == 403 and "another browser session" in r.text, r.text
    assert charges(server.logdir) == []
    assert "Payment" in server.get(payment, headers=CLICK).text  # the owner's, untouched


def test_a_record_edited_in_the_store_is_410_and_nothing_runs(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    # issue 11, finding 3: rewriting a stored payment continuation changed what it charged
    import sqlite3

    import redis

    app = write_app(tmp_path / "app", SRC)
    (tmp_path / "logs" / "flowcharger.py").write_text(CHARGER)
    server = serve(app, "--import", "flowcharger", *store_args)
    cart = k_url(server.get("/shop").text)
    payment = server.post(cart, data={"v": "socks"}, follow_redirects=False).headers["location"]

    def flip(data: bytes) -> bytes:  # the cart's "socks" becomes "rocks" inside the blob
        i = data.rindex(b"socks")
        return data[:i] + b"r" + data[i + 1 :]

    if store_args:
        r = redis.Redis.from_url(store_args[1])
        try:
            for key in r.keys("*:k:*"):
                fields = r.hgetall(key)
                for name, value in fields.items():
                    if b"socks" in value:
                        r.hset(key, name, flip(value))
        finally:
            r.close()
    else:
        with sqlite3.connect(app / ".tmweb" / "continuations.sqlite3") as db:
            for key, data in db.execute("SELECT key, data FROM continuations").fetchall():
                if b"socks" in data:
                    db.execute("UPDATE continuations SET data = ? WHERE key = ?", (flip(data), key))
    r = server.post(payment, data={"v": "4242"}, follow_redirects=False)
    assert r.status_code == 410, r.text
    assert charges(server.logdir) == []
    assert "TAMPERED" in server.output()


def test_a_huge_continuation_fails_fast_while_another_flow_completes(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    # issue 11, finding 6: a 15 MB value blocked every request while it was serialized
    src = SRC + """
    (defroute GET "/huge" [req]
      (let [big (mapv (fn [i] {:i i :s (str "some text " i)}) (range 400000))]
        (send/suspend (fn [u] (html [:form {:method "post" :action u} (count big)])))
        (count big)))
    """
    server = serve(write_app(tmp_path / "app", src), *charger(tmp_path), *store_args)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        huge = pool.submit(server.get, "/huge")
        # meanwhile another browser goes through a flow on the same single worker
        with httpx.Client(base_url=server.base, timeout=30) as other:
            cart = k_url(other.get("/shop").text)
            r = other.post(cart, data={"v": "tea"}, follow_redirects=False)
            assert r.status_code == 303
            assert "Payment" in other.get(r.headers["location"]).text
        r = huge.result(timeout=60)
    assert r.status_code == 500
    assert "This step holds too much data" in r.text
    assert "over the limit of 262,144 bytes" in r.text  # the reason, in development


def test_no_redirect_after_post_answers_the_next_page(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    server = serve(write_app(tmp_path / "app", SRC), "--no-redirect-after-post", *charger(tmp_path))
    cart = k_url(server.get("/shop").text)
    r = server.post(cart, data={"v": "tea"}, follow_redirects=False)
    assert r.status_code == 200 and "Payment" in r.text
