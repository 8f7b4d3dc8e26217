"""The web functions used where no request runs: the REPL says where they work, and an
app module that calls send/suspend as it loads gets the same explanation."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from tmweb.lang.errors import TurmericError
from tmweb.lang.runtime import Runtime
from tmweb.repl import APP_FUNCTIONS, REQUEST_FUNCTIONS, repl
from tmweb.web.app import App

from .test_app import KEY


def run_repl(text: str) -> str:
    out = io.StringIO()
    assert repl(io.StringIO(text), out) == 0
    return out.getvalue()


@pytest.mark.parametrize(
    ("form", "name"),
    [
        ('(send/suspend (fn [k-url] "page"))', "send/suspend"),
        ('(send/suspend/dispatch (fn [embed/url] "page"))', "send/suspend/dispatch"),
        ('(send/forward (fn [k-url] "page"))', "send/forward"),
        ('(send/finish "done")', "send/finish"),
        ('(send/back "page")', "send/back"),
        ("(redirect/get)", "redirect/get"),
        ("(current-request)", "current-request"),
        ('(defn ask [] (send/suspend (fn [k] k)))\n(ask)', "send/suspend"),  # in the user's function
    ],
)
def test_the_repl_says_the_send_functions_work_inside_a_request_handler(form: str, name: str) -> None:
    out = run_repl(form + "\n")
    assert f"unbound symbol {name}" in out
    assert f"hint: {name} works inside a request handler: define a route with defroute" in out
    assert "`tmweb serve APP_DIR`" in out


def test_the_repl_says_where_defroute_and_the_other_web_functions_work() -> None:
    out = run_repl('(defroute GET "/" [req] "hi")\n(html [:p "x"])\n(url-for "/a")\n')
    assert "hint: defroute defines a route of a tmweb app" in out
    assert "hint: html is one of tmweb's web functions" in out
    assert "hint: url-for is one of tmweb's web functions" in out


def test_the_repl_gives_no_hint_for_other_errors_and_goes_on() -> None:
    out = run_repl("(no-such-fn 1)\n(car 1)\n(def html (fn [x] x))\n(html 5)\n(+ 1 2)\n")
    assert "unbound symbol no-such-fn" in out
    assert "hint:" not in out
    assert out.rstrip().endswith("3\ntm>")


def test_the_repls_lists_are_every_function_an_app_adds(tmp_path: Path) -> None:
    app = App(str(tmp_path), secret_key=KEY)
    added = set(app.rt.core.cells) - set(Runtime().core.cells)
    assert {n for n in added if not n.startswith("%")} == REQUEST_FUNCTIONS | APP_FUNCTIONS


def test_send_suspend_as_a_module_loads_says_it_works_inside_a_request_handler(tmp_path: Path) -> None:
    (tmp_path / "main.tm").write_text('(def page (send/suspend (fn [k] "x")))\n', encoding="utf-8")
    with pytest.raises(TurmericError) as e:
        App(str(tmp_path), secret_key=KEY)
    assert "send/suspend works inside a request handler" in e.value.message
    assert "no request is running here" in e.value.message
