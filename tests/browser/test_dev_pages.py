"""tmweb's own pages in a real Chromium: a link that expired (a server with a short TTL) and
the development error pages of `tmweb serve --reload` while a module is broken, with the
app's own copy edited as a developer would."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import TIMEOUT_MS, Server, start_example, used_server

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips, or fails under CI=true, saying why
    expect = None
else:
    expect.set_options(timeout=TIMEOUT_MS)

#: How long a save may take to be served (uvicorn's reloader restarts the worker).
RELOAD_TIMEOUT = 25.0


@pytest.fixture
def short_ttl(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    server = start_example(tmp_path, "--ttl", "1")
    try:
        yield used_server(request, server)
    finally:
        server.stop()


@pytest.fixture
def reloading(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    server = start_example(tmp_path, "--reload")
    try:
        yield used_server(request, server)
    finally:
        server.stop()


def test_an_expired_link_shows_the_expired_page_with_a_way_back(page: Any, short_ttl: Server) -> None:
    page.goto(short_ttl.base + "/add")
    expect(page.get_by_label("First number")).to_be_visible()
    time.sleep(2.2)  # the step lived one second
    page.get_by_label("First number").fill("3")
    page.get_by_role("button", name="Next").click()
    heading = page.locator("h1")
    expect(heading).to_contain_text("This page has expired")
    expect(heading).to_contain_text("410")
    expect(page.locator("header")).to_contain_text("tmweb examples")  # in the app's layout
    page.get_by_role("link", name="Start again").click()  # to the start of the flow's route
    expect(page.get_by_label("First number")).to_be_visible()
    assert page.url == short_ttl.base + "/add"


def reload_until(page: Any, text: str) -> None:
    """Reload until the page shows `text` (the worker restarts after each save)."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while True:
        try:
            page.reload()
            if text in page.locator("body").inner_text():
                return
        except Exception:  # the worker is restarting: the reload failed
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            raise AssertionError(f"the page never showed {text!r}:\n{page.locator('body').inner_text()}")
        time.sleep(0.25)


def test_the_development_error_pages_while_a_module_is_broken(page: Any, reloading: Server) -> None:
    index = reloading.app_dir / "index.tm"
    good = index.read_text(encoding="utf-8")

    # a flow started before the mistake
    page.goto(reloading.base + "/add")
    page.get_by_label("First number").fill("3")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("Second number")).to_be_visible()
    step = page.url

    # mid-edit: a `)` missing; every page shows the load error, where the form is unclosed
    index.write_text(good.replace("(render \"index.html\" {:demos demos}))", "(render \"index.html\" {:demos demos})"),
                     encoding="utf-8")  # fmt: skip
    home = page.context.new_page()
    home.goto(reloading.base + "/")
    reload_until(home, "The app failed to load")
    body = home.locator("body")
    expect(body).to_contain_text("index.tm:")
    expect(body).to_contain_text('(defroute GET "/" [req]')  # the source lines
    expect(body).not_to_contain_text("Traceback")

    # saved again with a mistake that only running the page finds: the debug page
    index.write_text(good.replace("{:demos demos}", "{:demos (nth demos 10)}"), encoding="utf-8")
    reload_until(home, "Turmeric stack trace")
    expect(home.locator("h1")).to_contain_text("500")
    expect(body).to_contain_text("index.tm:")
    expect(body).to_contain_text("(nth demos 10)")  # the line that failed, from the source
    expect(body).not_to_contain_text("Traceback")

    # fixed: the app again, and the flow started before the mistakes goes on
    index.write_text(good, encoding="utf-8")
    reload_until(home, "Add two numbers")
    page.goto(step)
    page.get_by_label("Second number").fill("4")
    page.get_by_role("button", name="Next").click()
    expect(page.locator(".result")).to_have_text("3 + 4 = 7")
    assert "Traceback" not in reloading.output()
