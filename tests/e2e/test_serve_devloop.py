"""The development loop through a real `tmweb serve`: the checks before it starts, and
`--reload` serving the development error page while a module is broken, then the app
again (with its earlier continuations) once a save fixes it."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from .test_serve import KEY, SRC, Server, base_env, free_port, k_url, serve, write_app  # noqa: F401  (serve is a fixture)

RELOAD_TIMEOUT = 25.0


def wait_for(server: Server, path: str, ok: Callable[[httpx.Response], bool]) -> httpx.Response:
    """GET `path` until `ok` holds (the worker restarts after each save)."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    last: httpx.Response | None = None
    while time.monotonic() < deadline:
        try:
            last = server.get(path)
            if ok(last):
                return last
        except httpx.HTTPError:  # the worker is restarting
            pass
        time.sleep(0.2)
    raise AssertionError(
        f"GET {path} never answered as expected; last: "
        f"{last.status_code if last else None} {last.text[:500] if last else ''}\n{server.output()}"
    )


def serve_cmd(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "serve", str(app), "--port", str(free_port())]
        + ["--secret-key", KEY, *args],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_serve_runs_the_checks_first_and_lists_every_problem(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", '(defroute GET "/" [req]\n  (str "n=" (lenght "abc")))\n')
    (app / "other.tm").write_text("(defn twice [x]\n  (* 2 y))\n", encoding="utf-8")
    p = serve_cmd(app)
    assert p.returncode == 1, p.stderr
    assert "main.tm:2:14: unbound symbol lenght" in p.stderr, p.stderr
    assert "other.tm:2:8: unbound symbol y" in p.stderr, p.stderr
    assert "2 problems in 2 modules" in p.stderr
    assert "Traceback" not in p.stderr and "Uvicorn running" not in p.stderr


def test_reload_serves_the_error_page_while_broken_and_the_app_after_the_fix(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    app = write_app(tmp_path / "app")
    server = serve(app, "--reload")
    first = server.get("/add")
    assert first.status_code == 200 and "First number" in first.text
    made_before = k_url(first.text)

    main = app / "main.tm"
    good = main.read_text(encoding="utf-8")
    # mid-edit: a `)` missing inside ask-number
    main.write_text(good.replace('(int (get form "n")))', '(int (get form "n"))'), encoding="utf-8")
    page = wait_for(server, "/add", lambda r: r.status_code == 500)
    assert "The app failed to load" in page.text
    # at the `(defn ask-number` that is not closed, not at the next definition
    assert "main.tm:1:1" in page.text
    assert "(defroute at 8:1 would be read inside it" in page.text
    assert "(defn ask-number [label]" in page.text  # the source lines
    # every page answers so, a continuation URL too, and promptly (nothing hangs)
    resumed = server.post(made_before, data={"n": "2"})
    assert resumed.status_code == 500 and "The app failed to load" in resumed.text

    # the terminal: the same problem, once, as a Turmeric message, no Python traceback
    out = server.output()
    assert "Traceback" not in out, out
    assert out.count("the app failed to load") == 1, out
    assert "main.tm:1:1" in out

    # the save that fixes it serves the app again; the step made before still resumes
    main.write_text(good, encoding="utf-8")
    wait_for(server, "/add", lambda r: r.status_code == 200 and "First number" in r.text)
    second = server.post(made_before, data={"n": "2"})
    assert second.status_code == 200 and "Second number" in second.text, second.text
    done = server.post(k_url(second.text), data={"n": "3"})
    assert "2 + 3 = <b>5</b>" in done.text
    assert "Traceback" not in server.output()


def test_reload_starts_with_a_broken_app_and_serves_it_once_fixed(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    app = write_app(tmp_path / "app", SRC.replace("(+ a b)", "(+ a bb)"))
    server = serve(app, "--reload")
    page = server.get("/add")
    assert page.status_code == 500
    assert "main.tm:11:38: unbound symbol bb" in page.text, page.text
    main = app / "main.tm"
    main.write_text(main.read_text(encoding="utf-8").replace("(+ a bb)", "(+ a b)"), encoding="utf-8")
    wait_for(server, "/add", lambda r: r.status_code == 200 and "First number" in r.text)
    assert "Traceback" not in server.output()


def test_production_still_refuses_to_start_a_broken_app_with_reload(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", '(defroute GET "/" [req] (lenght "x"))\n')
    p = subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "serve", str(app), "--port", str(free_port()), "--reload"]
        + ["--secret-key", "e2e-production-secret-key-0123456789"],
        env=base_env(TMWEB_ENV="production"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == 1
    assert "main.tm:1:26: unbound symbol lenght" in p.stderr, p.stderr
    assert "Traceback" not in p.stderr
