"""`load_or_explain`, what `tmweb serve --reload` runs in each worker: the app when it
loads, else `LoadFailed`, which answers every request with the development error page
(the end-to-end loop through a real server is tests/e2e/test_serve_devloop.py)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest

from tmweb.web.app import App
from tmweb.web.checks import find_problems
from tmweb.web.load_error import LoadFailed, load_or_explain

KEY = "test-secret-key-0123456789-0123456789"


def app_dir(tmp_path: Path, **modules: str) -> str:
    folder = tmp_path / "app"
    folder.mkdir()
    for name, src in modules.items():
        (folder / f"{name}.tm").write_text(src, encoding="utf-8")
    return str(folder)


def load(folder: str) -> Any:
    return load_or_explain(folder, lambda: App(folder, secret_key=KEY, debug=True))


async def fetch(app: Any, method: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        return await c.request(method, path)


def test_an_app_that_loads_is_the_app(tmp_path: Path) -> None:
    folder = app_dir(tmp_path, main='(defroute GET "/" [req] "hello")\n')
    app = load(folder)
    assert isinstance(app, App)
    assert asyncio.run(fetch(app, "GET", "/")).text == "hello"


def test_every_problem_of_the_checks_is_on_every_page(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = app_dir(
        tmp_path,
        main='(defroute GET "/" [req]\n  (str (lenght "abc")))\n',
        other="(defn f [x]\n  (if (> x 0\n      x\n      0))\n",
    )
    with caplog.at_level(logging.ERROR, logger="tmweb"):
        app = load(folder)
    assert isinstance(app, LoadFailed)
    for method, path in [("GET", "/"), ("POST", "/k/abc"), ("GET", "/static/x.css")]:
        r = asyncio.run(fetch(app, method, path))
        assert r.status_code == 500
        assert r.headers["cache-control"] == "no-store"
        assert "2 problems in 2 modules" in r.text
        assert f"{folder}/main.tm:2:9: unbound symbol lenght" in r.text
        assert f"{folder}/other.tm:2:7: this &#39;(&#39; is missing its &#39;)&#39;" in r.text
        assert "  (str (lenght &#34;abc&#34;)))" in r.text  # the source line
    head = asyncio.run(fetch(app, "HEAD", "/"))
    assert head.status_code == 500 and head.content == b""
    # the terminal: one message with every problem
    messages = [rec.getMessage() for rec in caplog.records]
    assert len(messages) == 1
    assert "main.tm:2:9: unbound symbol lenght" in messages[0]
    assert "other.tm:2:7" in messages[0] and "2 problems in 2 modules" in messages[0]


def test_an_error_in_top_level_code_is_shown_too(tmp_path: Path) -> None:
    # the checks compile definitions only; running the module's top level fails
    folder = app_dir(tmp_path, main='(def limit (/ 10 0))\n(defroute GET "/" [req] "x")\n')
    assert find_problems(folder).problems == []
    app = load(folder)
    assert isinstance(app, LoadFailed)
    r = asyncio.run(fetch(app, "GET", "/"))
    assert r.status_code == 500 and "divide by zero" in r.text
    assert f"{folder}/main.tm:1:" in r.text


def test_lifespan_starts_and_stops(tmp_path: Path) -> None:
    app = LoadFailed(find_problems(app_dir(tmp_path, main="(nope)\n")))
    sent: list[dict[str, Any]] = []
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan"}, receive, send))  # type: ignore[arg-type]
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
