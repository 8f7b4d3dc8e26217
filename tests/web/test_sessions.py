"""Continuations belong to the browser session that made them (SPEC 2.6, issue 11): the
session cookie, the 403 for another browser, and the opt-outs (App(bind_to_session=False),
`:shareable #t`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from .test_app import k_url, make_app

SRC = """
(defn form-page [title url]
  (html [:h1 title] [:form {:method "post" :action url} [:input {:name "v"}]]))

(defroute GET "/mine" [req]
  (str "got " (get (send/suspend (fn [u] (form-page "Mine" u))) "v")))

(defroute GET "/share" [req]
  (str "shared " (get (send/suspend (fn [u] (form-page "Share" u)) :shareable #t) "v")))

(defroute GET "/share-many" [req]
  (str "shared " (get (send/suspend (fn [u] (form-page "Share" u)) :shareable #t :once #f) "v")))
"""


@pytest.fixture
def app_kw(tmp_path: Path) -> dict[str, object]:
    return {"store": f"sqlite:///{tmp_path / 'store.db'}"}


def test_every_browser_gets_a_signed_http_only_lax_session_cookie(tmp_path: Path) -> None:
    c = TestClient(make_app(tmp_path, SRC))
    r = c.get("/mine")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("tmweb_session=")
    for attribute in ("HttpOnly", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    assert "Secure" not in cookie  # plain HTTP in development
    assert "set-cookie" not in c.get("/mine").headers  # sent once, then kept by the browser
    https = TestClient(make_app(tmp_path / "s", SRC), base_url="https://testserver")
    assert "Secure" in https.get("/mine").headers["set-cookie"]


def test_in_production_the_session_cookie_is_secure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMWEB_ENV", "production")
    c = TestClient(make_app(tmp_path, SRC, secret_key="k" * 32))
    assert "Secure" in c.get("/mine").headers["set-cookie"]


def test_another_browser_gets_403_and_the_owner_still_can_resume(tmp_path: Path) -> None:
    app = make_app(tmp_path, SRC)
    owner, other = TestClient(app), TestClient(app)
    url = k_url(owner.get("/mine").text)
    for method in ("POST", "GET", "HEAD"):
        r = other.request(method, url, data={"v": "x"} if method == "POST" else None)
        assert r.status_code == 403, (method, r.text)
        if method != "HEAD":
            assert "belongs to another browser session" in r.text
            assert 'href="/mine"' in r.text
    forged = TestClient(app, cookies={"tmweb_session": owner.cookies["tmweb_session"][:-2] + "xx"})
    assert forged.post(url, data={"v": "x"}).status_code == 403
    assert owner.post(url, data={"v": "mine"}).text == "got mine"


def test_a_session_cookie_of_the_first_format_still_owns_its_continuations(tmp_path: Path) -> None:
    """An upgrade that changed the cookie's format logs nobody out of a flow: a browser
    whose cookie was signed by itsdangerous keeps its session."""
    from itsdangerous import URLSafeSerializer

    app = make_app(tmp_path, SRC)
    sid = "ab" * 16
    old = URLSafeSerializer(app.tokens.secret_keys, salt="tmweb.session").dumps(sid)
    assert "." in old
    browser = TestClient(app, cookies={"tmweb_session": old})
    r = browser.get("/mine")
    assert "set-cookie" not in r.headers  # recognised: no new session
    assert browser.post(k_url(r.text), data={"v": "still mine"}).text == "got still mine"


def test_the_session_cookie_is_the_id_and_its_mac_in_43_characters(tmp_path: Path) -> None:
    c = TestClient(make_app(tmp_path, SRC))
    c.get("/mine")
    value = c.cookies["tmweb_session"]
    assert len(value) == 43 and "." not in value  # 16 bytes of id, 16 of MAC, base64


def test_a_shareable_continuation_is_one_shot_for_anyone(tmp_path: Path) -> None:
    app = make_app(tmp_path, SRC)
    owner, other, third = TestClient(app), TestClient(app), TestClient(app)
    url = k_url(owner.get("/share").text)
    assert other.post(url, data={"v": "by mail"}).text == "shared by mail"
    assert third.post(url, data={"v": "again"}).status_code == 410  # one-shot by default
    many = k_url(owner.get("/share-many").text)
    assert other.post(many, data={"v": "1"}).text == "shared 1"
    assert third.post(many, data={"v": "2"}).text == "shared 2"


def test_session_binding_can_be_turned_off_per_app(tmp_path: Path) -> None:
    app = make_app(tmp_path, SRC, bind_to_session=False)
    url = k_url(TestClient(app).get("/mine").text)
    assert TestClient(app).post(url, data={"v": "x"}).text == "got x"


def test_a_step_made_by_resuming_a_shared_link_belongs_to_the_resumer(tmp_path: Path) -> None:
    src = SRC + """
    (defroute GET "/invite" [req]
      (send/suspend (fn [u] (form-page "Invite" u)) :shareable #t)
      (str "then " (get (send/suspend (fn [u] (form-page "Next" u))) "v")))
    """
    app = make_app(tmp_path, src)
    sender, guest, stranger = TestClient(app), TestClient(app), TestClient(app)
    invite = k_url(sender.get("/invite").text)
    nxt = k_url(guest.post(invite, data={"v": "yes"}).text)
    assert stranger.post(nxt, data={"v": "x"}).status_code == 403
    assert sender.post(nxt, data={"v": "x"}).status_code == 403
    assert guest.post(nxt, data={"v": "ok"}).text == "then ok"
