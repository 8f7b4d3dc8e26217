"""The development loop's safety net: while the app's modules cannot load (a syntax error
mid-edit, an unbound symbol), `tmweb serve --reload` serves `LoadFailed` instead of dying,
so every page shows the Turmeric error and the next save (uvicorn restarts the worker) serves
the app again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from jinja2 import Environment, FileSystemLoader, PrefixLoader, select_autoescape
from starlette.types import Receive, Scope, Send

from ..lang.errors import TurmericError
from . import pages
from .checks import CheckResult, Problem, find_problems

log = logging.getLogger("tmweb")


class LoadFailed:
    """An ASGI app answering every HTTP request with 500 and the development page that
    lists `result`'s problems, each with its source lines."""

    def __init__(self, result: CheckResult) -> None:
        self.result = result
        env = Environment(
            loader=PrefixLoader({"tmweb": FileSystemLoader(pages.PAGES_DIR)}),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        problems = [{"text": p.text, "frames": pages.frames_with_source(p.error)} for p in result.problems]
        html = env.get_template("tmweb/load_error.html").render(
            status=500, summary=result.summary(), problems=problems, start_url="/"
        )
        self.body = html.encode("utf-8")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1011})
            return
        headers = [
            (b"content-type", b"text/html; charset=utf-8"),
            (b"content-length", str(len(self.body)).encode()),
            (b"cache-control", b"no-store"),
            (b"x-content-type-options", b"nosniff"),
        ]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        body = b"" if scope.get("method") == "HEAD" else self.body
        await send({"type": "http.response.body", "body": body})


def load_or_explain(app_dir: str, make_app: Callable[[], Any]) -> Any:
    """The app `make_app` builds, after the checks `tmweb check` runs; if they find
    problems, or loading raises a Turmeric error, log them as one message and return a
    `LoadFailed` app that shows them (development only: production exits instead)."""
    result = find_problems(app_dir)
    if not result.problems:
        try:
            return make_app()
        except TurmericError as e:
            result = CheckResult([Problem(e.format(), e)], result.modules)
    log.error(
        "the app failed to load; every page shows this until a save fixes it:\n%s", result.report()
    )
    return LoadFailed(result)
