"""The page a POST built before answering 303 is given to the GET that follows, once, to
the same browser session only (recent.py); everything else builds the page from the
stored step, as before."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from tmweb.web.app import App
from tmweb.web.recent import RecentPages
from tmweb.web.stores import open_store

from .test_app import ADD, ASK, KEY, CountingStore, k_url, token_of, write_app


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_page_is_given_once_to_its_session_while_fresh() -> None:
    clock = Clock()
    pages = RecentPages(ttl=30, clock=clock)
    pages.keep("t", "s1", 200, [(b"x-a", b"1")], b"<p>page</p>")
    assert pages.take("t", "s2") is None  # another browser session
    page = pages.take("t", "s1")
    assert page is not None and page.body == b"<p>page</p>" and page.headers == ((b"x-a", b"1"),)
    assert pages.take("t", "s1") is None  # once
    pages.keep("u", "s1", 200, [], b"u")
    clock.now = 30.0
    assert pages.take("u", "s1") is None  # stale


def test_memory_is_bounded_by_entries_and_bytes() -> None:
    pages = RecentPages(max_entries=3, max_bytes=800)
    for i in range(5):
        pages.keep(f"t{i}", "s", 200, [], b"x" * 100)
    assert len(pages) == 3
    assert pages.take("t0", "s") is None and pages.take("t4", "s") is not None
    for i in range(3):
        pages.keep(f"b{i}", "s", 200, [], b"y" * 100)
    pages.keep("big", "s", 200, [], b"z" * 101)  # over max_bytes / 8: built again
    assert pages.take("big", "s") is None


def test_the_get_after_the_redirect_reads_nothing_from_the_store(tmp_path: Path) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    store = CountingStore(open_store(None, str(folder)))
    client = TestClient(App(str(folder), store=store, secret_key=KEY))
    first = client.get("/add")
    store.calls.clear()
    second = client.post(k_url(first.text), data={"n": "3"})  # follows the 303
    assert [c for c, _ in store.calls] == ["get", "put"]
    assert "Second number" in second.text
    assert second.headers["referrer-policy"] == "same-origin"  # the app's headers, as built
    reload = client.get(second.url)  # a reload: the page is built from the stored step
    assert reload.text == second.text
    assert [c for c, _ in store.calls] == ["get", "put", "get"]
    store.calls.clear()
    done = client.post(k_url(second.text), data={"n": "4"})  # the flow's answer (answers.py)
    assert done.text.endswith("= <b>7</b></p>")
    assert [c for c, _ in store.calls] == ["get", "put"]  # its GET read nothing either
    assert client.get(done.url).text == done.text  # a reload reads the kept answer
    assert [c for c, _ in store.calls] == ["get", "put", "get"]


def test_another_browser_following_the_redirect_gets_403_and_the_owner_the_page(
    tmp_path: Path,
) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    app = App(str(folder), secret_key=KEY)
    owner, other = TestClient(app), TestClient(app)
    first = owner.get("/add")
    r = owner.post(k_url(first.text), data={"n": "3"}, follow_redirects=False)
    assert r.status_code == 303
    assert other.get(r.headers["location"]).status_code == 403  # session checked first
    assert "Second number" in owner.get(r.headers["location"]).text
    assert token_of(r.headers["location"]) not in {t for t in app.recent._pages}


def test_without_session_binding_another_browser_builds_the_page_from_the_store(
    tmp_path: Path,
) -> None:
    folder = write_app(tmp_path / "app", ADD, ASK)
    store = CountingStore(open_store(None, str(folder)))
    app = App(str(folder), store=store, secret_key=KEY, bind_to_session=False)
    owner, other = TestClient(app), TestClient(app)
    r = owner.post(k_url(owner.get("/add").text), data={"n": "3"}, follow_redirects=False)
    store.calls.clear()
    assert "Second number" in other.get(r.headers["location"]).text
    assert [c for c, _ in store.calls] == ["get"]  # not the owner's kept page
