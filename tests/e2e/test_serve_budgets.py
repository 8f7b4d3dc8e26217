"""Issue 11, finding 1 against real `tmweb serve` processes on SQLite and Redis: one browser
session that posts 1 MB values again and again stays within its session budget and its
newest continuation still resumes; a client without a cookie (a new session per request)
is held by the store's own budget."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import redis

from .test_serve import Server, k_url, serve, write_app  # noqa: F401  (serve is a fixture)

# every step keeps the last value posted: the amplification the security probe used
KEEP = """
(defroute GET "/keep" [req]
  (loop [last ""]
    (let [form (send/suspend (fn [u] (html [:p "kept " (count last)]
                                           [:form {:method "post" :action u}
                                             [:input {:name "v"}] [:button "Keep"]])))]
      (recur (get form "v")))))

(defroute GET "/blob" [req]
  (let [blob (apply str (map (fn [i] "0123456789") (range 5000)))]   ; 50 KB kept per GET
    (send/suspend (fn [u] (html [:form {:method "post" :action u} [:button "go"]])))
    (str "kept " (count blob))))
"""
MB = 1_000_000


@pytest.fixture(params=["sqlite", "redis"])
def store_args(request: pytest.FixtureRequest) -> list[str]:
    if request.param == "redis":
        return ["--store", request.getfixturevalue("redis_url")]
    return []


def stored_sizes(app: Path, store_args: list[str]) -> list[int]:
    """The size of every continuation record in the store."""
    if store_args:
        r = redis.Redis.from_url(store_args[1])
        try:
            return [r.hstrlen(k, "data") for k in r.scan_iter("*:k:*")]
        finally:
            r.close()
    with sqlite3.connect(app / ".tmweb" / "continuations.sqlite3") as db:
        sizes = [n for (n,) in db.execute("SELECT length(data) FROM continuations")]
    db.close()
    return sizes


def test_one_session_posting_1mb_values_stays_within_its_budget(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    app = write_app(tmp_path / "app", KEEP)
    # continuations up to 3 MiB, so that each step's 1 MB value is kept (and the saved
    # request's copy of it); the session's budget is the default, 8 MiB
    server = serve(app, "--max-continuation-bytes", "3MiB", *store_args)
    url = k_url(server.get("/keep").text)
    first = url
    started = time.monotonic()
    for i in range(200):
        r = server.post(url, data={"v": chr(ord("a") + i % 26) * MB}, follow_redirects=False)
        assert r.status_code == 303, r.text
        url = r.headers["location"]
    elapsed = time.monotonic() - started
    sizes = stored_sizes(app, store_args)
    assert sum(sizes) <= 8 << 20, f"{len(sizes)} records, {sum(sizes)} bytes"
    # the budget is used, not wasted: the newest records that fit are all kept (each holds
    # the value about three times: in a local, in the page's closure, in the saved form)
    assert sum(sizes) >= (8 << 20) - 2 * max(sizes)
    # the owner's newest continuation still resumes, its oldest was evicted
    page = server.get(url)
    assert page.status_code == 200 and f"kept {MB}" in page.text
    done = server.post(url, data={"v": "last"})
    assert done.status_code == 200 and "kept 4" in done.text
    assert server.get(first).status_code == 410
    assert "evicted" in server.output()
    print(f"200 posts of 1 MB in {elapsed:.1f} s; the store keeps {len(sizes)} records, {sum(sizes)} bytes")


def test_a_1mb_value_over_the_default_continuation_cap_gets_a_page_and_stores_nothing(
    tmp_path: Path, serve: Callable[..., Server], store_args: list[str]  # noqa: F811
) -> None:
    app = write_app(tmp_path / "app", KEEP)
    server = serve(app, *store_args)
    url = k_url(server.get("/keep").text)
    before = sum(stored_sizes(app, store_args))
    for _ in range(20):
        r = server.post(url, data={"v": "x" * MB}, follow_redirects=False)
        assert r.status_code == 500 and "Too much to keep" in r.text, (r.status_code, r.text[:300])
        assert "Traceback" not in r.text
    assert sum(stored_sizes(app, store_args)) == before
    assert "kept 0" in server.get(url).text  # the step is still there, unchanged


def test_a_client_without_cookies_is_held_by_the_sqlite_stores_budget(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    app = write_app(tmp_path / "app", KEEP)
    server = serve(app, "--store-max-bytes", "4MiB")
    with httpx.Client(base_url=server.base) as client:  # no jar kept: a new session each time
        for _ in range(300):  # 15 MB of continuations asked for
            r = client.get("/blob")
            client.cookies.clear()
            assert r.status_code == 200
    newest = k_url(r.text)
    with sqlite3.connect(app / ".tmweb" / "continuations.sqlite3") as db:
        pages, free, size = (db.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))  # fmt: skip
        rows = db.execute("SELECT count(*) FROM continuations").fetchone()[0]
    db.close()
    assert (pages - free) * size <= 4 << 20
    assert 30 <= rows < 100
    # the newest is kept (with its session's cookie it resumes)
    with httpx.Client(base_url=server.base, cookies=r.cookies) as owner:
        assert owner.post(newest, follow_redirects=True).text.endswith("kept 50000")
