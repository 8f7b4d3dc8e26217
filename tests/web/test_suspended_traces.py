"""A page function given to send/suspend fails: the development page and the log name the
user's frames from the suspended handler ("suspended at shop.tm:3:5 in ask-address"),
not only the framework's prelude (issue 13)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from .test_app import k_url, make_app

SHOP = """
(defn ask-address [cart]
  (def form
    (send/suspend
      (fn []
        (html [:form "address"]))))
  form)

(defroute GET "/checkout" [req]
  (def addr (ask-address [1 2]))
  (str addr))

(def renders (ref 0))

(defn pay-page [k-url]
  (swap! renders inc)
  (if (> (deref renders) 1)
    (str "<p>" (+ 1 "one") "</p>")
    (html [:form {:method "post" :action k-url} [:input {:name "card"}]])))

(defn ask-payment []
  (def form (send/suspend pay-page))
  form)

(defroute GET "/pay" [req]
  (def form (ask-payment))
  (str "paid " (get form "card")))
"""


def test_an_arity_error_in_the_page_function_names_where_it_suspended(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(make_app(tmp_path, SHOP, debug=True))
    with caplog.at_level(logging.ERROR, logger="tmweb"):
        r = client.get("/checkout")
    assert r.status_code == 500
    main = str(tmp_path / "app" / "main.tm")
    # the page: each suspended frame, with its source line
    assert f"suspended in main.ask-address</code> at {main}:3:5" in r.text, r.text
    assert f"suspended in main.GET /checkout</code> at {main}:9:13" in r.text
    assert "(send/suspend" in r.text and "(def addr (ask-address [1 2]))" in r.text
    # the log: one Turmeric message, the suspended frames after the prelude's
    log = "\n".join(rec.getMessage() for rec in caplog.records)
    assert f"  suspended at {main}:3:5 in main.ask-address" in log
    assert f"  suspended at {main}:9:13 in main.GET /checkout" in log
    assert log.index("prelude.tm") < log.index("suspended at")


def test_the_page_built_again_for_a_get_of_a_step_names_the_handler_too(tmp_path: Path) -> None:
    client = TestClient(make_app(tmp_path, SHOP, debug=True))
    first = client.get("/pay")
    assert first.status_code == 200
    # a reload of the step's URL builds its page again, and this time it fails
    again = client.get(k_url(first.text))
    assert again.status_code == 500
    main = str(tmp_path / "app" / "main.tm")
    assert f"<code>main.pay-page</code> at {main}:17:16" in again.text, again.text
    assert f"suspended in main.ask-payment</code> at {main}:21:13" in again.text
    assert f"suspended in main.GET /pay</code> at {main}:25:13" in again.text
