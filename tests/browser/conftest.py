"""Fixtures of the browser tests: a real headless Chromium driven by Playwright, against
the example app served by a real `tmweb serve` subprocess.

- `browser`: one Chromium for all the browser tests. It is Debian's `chromium` package
  (`/usr/bin/chromium`, or `TMWEB_CHROMIUM`), launched through `executable_path` because
  Playwright's own browser download is not used; headless, `--no-sandbox` (CI runs as
  root). Without Playwright or Chromium the tests skip with a loud reason, except under
  `CI=true`, where they fail (as the Redis tests do). The fixture is package-scoped, which
  for these tests is the whole session: Playwright's sync API keeps an event loop running
  in the thread, and the tests after this folder call `asyncio.run`.
- `new_browser()`: a fresh browser context, i.e. another person's browser with its own
  cookies (its own tmweb session); `page` is a tab of the first one.
- `example_server(*args)`: the example app, copied into a temporary folder, under
  `tmweb serve` on a free port with the embedded SQLite store (helpers of
  tests/e2e/test_serve.py).

On a failure, every open tab's screenshot and HTML, and the output of the servers the test
used, are saved under `$TMWEB_BROWSER_ARTIFACTS` (default: `tmweb-browser-artifacts` in the
temporary folder), one folder per test; the path is printed with the failure and at the
end of the run.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# tests/ is on sys.path (its conftest.py is rootless), so the e2e helpers import as e2e.*,
# the name pytest gives them too
from e2e.test_serve import REPO, Server

#: How long a browser action or expectation may take before the test fails.
TIMEOUT_MS = 10_000

ARTIFACTS = Path(
    os.environ.get("TMWEB_BROWSER_ARTIFACTS")
    or os.path.join(tempfile.gettempdir(), "tmweb-browser-artifacts")
)

#: The key tests stash what to save on failure under: contexts and servers.
_OPENED = pytest.StashKey[dict[str, list[Any]]]()
_SAVED: list[Path] = []


def chromium_path() -> str | None:
    """Debian's Chromium, or the executable `TMWEB_CHROMIUM` names."""
    given = os.environ.get("TMWEB_CHROMIUM")
    if given:
        return given if os.access(given, os.X_OK) else None
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, so the browser tests cannot run on this CI machine", pytrace=False)
    pytest.skip(f"{reason}: the browser tests are skipped (they fail under CI=true)")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright is not installed (pip install -e '.[test]')")
    exe = chromium_path()
    if exe is None:
        _unavailable(
            "Chromium is not installed (apt-get install chromium, or set TMWEB_CHROMIUM "
            "to a Chromium executable)"
        )
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=exe, headless=True, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_browser(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[], Any]]:
    """Open another person's browser (a context with its own cookies)."""
    contexts = request.node.stash.setdefault(_OPENED, {"contexts": [], "servers": []})["contexts"]

    def open_one() -> Any:
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    try:
        yield open_one
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def page(new_browser: Callable[[], Any]) -> Any:
    """A tab of the test's first browser."""
    return new_browser().new_page()


def start_example(folder: Path, *args: str) -> Server:
    """The example app, copied into `folder`, under `tmweb serve` (SQLite store in the copy)."""
    app = folder / "example_app"
    shutil.copytree(REPO / "example_app", app, ignore=shutil.ignore_patterns(".tmweb"))
    logs = folder / "logs"
    logs.mkdir()
    return Server(app, logs, *args).start()


def used_server(request: pytest.FixtureRequest, server: Server) -> Server:
    """Note that the test uses `server`, whose output is saved if it fails."""
    request.node.stash.setdefault(_OPENED, {"contexts": [], "servers": []})["servers"].append(server)
    return server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[Any]:
    report = yield
    if report.failed and report.when in ("setup", "call"):
        opened = item.stash.get(_OPENED, None)
        if opened and (opened["contexts"] or opened["servers"]):
            folder = _save_artifacts(item.nodeid, opened)
            report.sections.append(("browser artifacts", f"screenshots, HTML and server output in {folder}"))
            reporter = item.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"\nbrowser artifacts of {item.nodeid}: {folder}")
    return report


def _save_artifacts(nodeid: str, opened: dict[str, list[Any]]) -> Path:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for c, context in enumerate(opened["contexts"]):
        for t, tab in enumerate(context.pages):
            name = f"browser{c}-tab{t}"
            try:
                tab.screenshot(path=str(folder / f"{name}.png"), full_page=True)
                (folder / f"{name}.html").write_text(
                    f"<!-- {tab.url} -->\n" + tab.content(), encoding="utf-8"
                )
            except Exception as e:  # a closed or crashed tab: say so, save the rest
                (folder / f"{name}.error.txt").write_text(f"{tab.url}\n{e}\n", encoding="utf-8")
    for s, server in enumerate(opened["servers"]):
        (folder / f"server{s}.log").write_text(server.output(), encoding="utf-8")
    _SAVED.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _SAVED:
        terminalreporter.section("browser artifacts")
        terminalreporter.write_line(f"screenshots and HTML of the failed browser tests are under {ARTIFACTS}:")
        for folder in _SAVED:
            terminalreporter.write_line(f"  {folder}")
