"""Post/Redirect/Get for the answer of a POST that does not stop at a POST step (answers.py):
the page is kept behind a GET URL of the flow, bound to the session, so a reload shows it
again without posting the form or running the handler again (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from tmweb.lang import register_python

from .test_app import k_url, k_urls, make_app

RUNS: list[str] = []
register_python("testanswers.ran!", lambda what: RUNS.append(what))

SRC = """
(defn ask [label & opts]
  (get (apply send/suspend
              (fn [u] (html [:form {:method "post" :action u} [:label label [:input {:name "n"}]]]))
              opts)
       "n"))

(defroute GET "/add" [req]
  (def a (int (ask "First")))
  (def b (int (ask "Second")))
  (testanswers.ran! "sum")
  (str "<p>" a " + " b " = <b>" (+ a b) "</b></p>"))

(defroute GET "/finish" [req]
  (def v (ask "Value" :once #t))
  (send/finish (html [:h1 "Thanks for " v])))

(defroute GET "/count" [req]
  (def n (int (ask "Start")))
  (def next (send/suspend/dispatch
               (fn [embed/url] (html [:p "n=" n] [:a {:href (embed/url (fn [_] (inc n)))} "+1"]))))
  (str "<p>then n=" next "</p>"))

(defroute GET "/other" [req]
  (def what (ask "What"))
  (cond
    (= what "json") (json {:ok 1})
    (= what "redirect") (redirect "/add")
    (= what "status") (response "<p>made</p>" :status 201)
    (= what "cookie") (response "<p>hi</p>" :headers {"Set-Cookie" "x=1; Path=/"})
    (= what "text") (response "plain" :content-type "text/plain")
    :else (render "page.html" {:what what})))

(defroute POST "/route" [req] "<p>a route's own answer</p>")
"""

TEMPLATES = {"page.html": "<h1>{{ what }}</h1>"}


def client(tmp_path: Path, **kw: Any) -> TestClient:
    return TestClient(make_app(tmp_path, SRC, TEMPLATES, **kw), follow_redirects=False)


def post(c: TestClient, url: str, n: str) -> Any:
    return c.post(url, data={"n": n})


def finish_add(c: TestClient) -> Any:
    """GET /add, answer 3 then 4: the last POST's answer."""
    second = c.get(post(c, k_url(c.get("/add").text), "3").headers["location"])
    return post(c, k_url(second.text), "4")


def test_the_page_that_ends_the_handler_has_a_get_url_a_reload_shows_again(tmp_path: Path) -> None:
    RUNS.clear()
    c = client(tmp_path)
    done = finish_add(c)
    assert done.status_code == 303
    url = done.headers["location"]
    assert url.startswith("/k/")
    for _ in range(3):  # the redirect's GET, then reloads: the same page, nothing runs
        page = c.get(url)
        assert page.status_code == 200 and "3 + 4 = <b>7</b>" in page.text
        assert page.headers["content-type"].startswith("text/html")
    assert RUNS == ["sum"]


def test_the_kept_page_belongs_to_the_browser_session_that_posted(tmp_path: Path) -> None:
    app = make_app(tmp_path, SRC, TEMPLATES)
    c = TestClient(app, follow_redirects=False)
    url = finish_add(c).headers["location"]
    other = TestClient(app, follow_redirects=False)  # another browser
    r = other.get(url)
    assert r.status_code == 403 and "= <b>7</b>" not in r.text


def test_without_session_binding_the_kept_page_is_a_bearer_link(tmp_path: Path) -> None:
    app = make_app(tmp_path, SRC, TEMPLATES, bind_to_session=False)
    url = finish_add(TestClient(app, follow_redirects=False)).headers["location"]
    assert "= <b>7</b>" in TestClient(app).get(url).text


def test_send_finish_keeps_its_answer_and_still_expires_every_step(tmp_path: Path) -> None:
    c = client(tmp_path)
    step = k_url(c.get("/finish").text)
    done = post(c, step, "tea")
    assert done.status_code == 303
    assert c.get(done.headers["location"]).text == "<h1>Thanks for tea</h1>"
    assert c.get(done.headers["location"]).text == "<h1>Thanks for tea</h1>"  # a reload
    assert post(c, step, "tea").status_code == 410  # the flow is over


def test_a_page_of_links_that_a_post_reaches_is_kept_and_its_links_work(tmp_path: Path) -> None:
    c = client(tmp_path)
    r = post(c, k_url(c.get("/count").text), "5")
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "n=5" in page.text
    again = c.get(r.headers["location"])  # a reload: the same page, the same link
    assert k_urls(again.text) == k_urls(page.text)
    assert c.get(k_url(page.text)).text == "<p>then n=6</p>"


def test_answers_that_are_not_a_whole_html_page_are_sent_as_they_are(tmp_path: Path) -> None:
    c = client(tmp_path)

    def answer(what: str) -> Any:
        return post(c, k_url(c.get("/other").text), what)

    assert answer("json").json() == {"ok": 1}
    r = answer("redirect")
    assert (r.status_code, r.headers["location"]) == (302, "/add")
    assert (answer("status").status_code, answer("status").text) == (201, "<p>made</p>")
    r = answer("cookie")
    assert r.status_code == 200 and r.text == "<p>hi</p>" and "x=1" in r.headers["set-cookie"]
    assert answer("text").text == "plain"
    r = answer("rendered")
    assert r.status_code == 303 and c.get(r.headers["location"]).text == "<h1>rendered</h1>"


def test_a_post_to_a_route_is_answered_as_it_is(tmp_path: Path) -> None:
    r = client(tmp_path).post("/route")
    assert r.status_code == 200 and r.text == "<p>a route's own answer</p>"


def test_without_redirect_after_post_the_last_page_is_the_answer(tmp_path: Path) -> None:
    c = client(tmp_path, redirect_after_post=False)
    second = post(c, k_url(c.get("/add").text), "3")
    done = post(c, k_url(second.text), "4")
    assert done.status_code == 200 and "3 + 4 = <b>7</b>" in done.text


def test_a_page_over_the_size_cap_is_sent_as_it_is(tmp_path: Path) -> None:
    c = client(tmp_path, max_continuation_bytes=4096, session_max_bytes=1 << 20)
    r = post(c, k_url(c.get("/other").text), "x" * 5000)
    assert r.status_code == 200 and r.text == f"<h1>{'x' * 5000}</h1>"


def test_the_kept_pages_url_carries_the_mount_prefix(tmp_path: Path) -> None:
    outer = Starlette(routes=[Mount("/shop", app=make_app(tmp_path, SRC, TEMPLATES))])
    c = TestClient(outer, follow_redirects=False)
    second = c.get(post(c, k_url(c.get("/shop/add").text), "3").headers["location"])
    done = post(c, k_url(second.text), "4")
    assert done.headers["location"].startswith("/shop/k/")
    assert "3 + 4 = <b>7</b>" in c.get(done.headers["location"]).text
