"""`tmweb serve` as real server processes, talked to over HTTP with httpx.

Each server is `python -m tmweb.cli serve APP_DIR --port P --secret-key K` in its own
process group on a free port; the tests wait until the port answers and always stop the
group afterwards. Most tests serve a small app written into `tmp_path`; one runs the
example app's add-two-numbers flow from a copy (so no state is written into the repo).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tmweb.web.tokens import Tokens

REPO = Path(__file__).resolve().parents[2]
KEY = "e2e-secret-key"
#: a key production accepts (32 bytes or more)
STRONG_KEY = "e2e-production-secret-key-0123456789"
K_URL = re.compile(r'(?:action|href)="([^"]*/k/[^"]+)"')
STARTUP_TIMEOUT = 20.0

SRC = """
(defn ask-number [label]
  (def form
    (send/suspend
      (fn [k-url]
        (html [:form {:method "post" :action k-url} [:label label [:input {:name "n"}]]]))))
  (int (get form "n")))

(defroute GET "/add" [req]
  (def a (ask-number "First number"))
  (def b (ask-number "Second number"))
  (str "<p>" a " + " b " = <b>" (+ a b) "</b></p>"))

(defroute GET "/pay" [req]
  (def form (send/suspend (fn [k] (html [:form {:method "post" :action k} "pay"])) :once #t))
  (str "paid " (get form "amount")))

(defroute GET "/fail-later" [req]
  (def form (send/suspend (fn [k] (html [:form {:method "post" :action k} "go"]))))
  (+ 1 (get form "n")))
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_app(folder: Path, src: str = SRC) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.tm").write_text(textwrap.dedent(src).lstrip(), encoding="utf-8")
    return folder


def base_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TURMERIC_PATH", "PORT") and not k.startswith("TMWEB_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra)
    return env


class Server:
    """One `tmweb serve` process group; output goes to files under `logdir`."""

    def __init__(
        self,
        app_dir: Path,
        logdir: Path,
        *args: str,
        secret_key: str | None = KEY,
        env: dict[str, str] | None = None,
    ) -> None:
        self.app_dir = app_dir
        self.args = list(args)
        if secret_key is not None:
            self.args += ["--secret-key", secret_key]
        self.env = base_env(**(env or {}))
        self.port = free_port()
        self.logdir = logdir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        #: the browser's cookies; servers started in one test share them (see `serve`)
        self.jar = httpx.Cookies()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.starts += 1
        out = open(self.logdir / f"server-{self.port}-{self.starts}.out", "wb")
        err = open(self.logdir / f"server-{self.port}-{self.starts}.err", "wb")
        cmd = [sys.executable, "-m", "tmweb.cli", "serve", str(self.app_dir)]
        cmd += ["--port", str(self.port), *self.args]
        try:
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=err, env=self.env, cwd=self.logdir, start_new_session=True
            )
        finally:
            out.close()
            err.close()
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        assert self.proc is not None
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"tmweb serve exited with {self.proc.returncode}:\n{self.output()}"
                )
            try:
                httpx.get(self.base + "/__probe__", timeout=1.0)
                return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"tmweb serve did not answer on {self.base}:\n{self.output()}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # workers of the group that outlived their parent
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def restart(self, sig: int = signal.SIGKILL) -> None:
        """Kill the server (a crash by default) and start it again on the same port."""
        self.stop(sig)
        self.start()

    def output(self) -> str:
        """Everything every start of this server wrote to stdout and stderr."""
        parts = []
        for path in sorted(self.logdir.glob(f"server-{self.port}-*")):
            parts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(parts)

    def request(self, method: str, path: str, **kw: object) -> httpx.Response:
        """A request from the test's browser: its cookies (the session cookie that
        continuations are bound to) are kept across requests and servers."""
        with httpx.Client(cookies=self.jar, timeout=10.0) as client:
            r = client.request(method, self.base + path, **kw)  # type: ignore[arg-type]
            self.jar.update(client.cookies)
        return r

    def get(self, path: str, **kw: object) -> httpx.Response:
        return self.request("GET", path, **kw)

    def head(self, path: str, **kw: object) -> httpx.Response:
        return self.request("HEAD", path, **kw)

    def post(self, path: str, **kw: object) -> httpx.Response:
        """POST as a browser does: a 303 (Post/Redirect/Get) is followed to the next page;
        pass follow_redirects=False to see it."""
        kw.setdefault("follow_redirects", True)
        return self.request("POST", path, **kw)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start servers; every one is stopped when the test ends, pass or fail."""
    started: list[Server] = []
    jar = httpx.Cookies()
    logdir = tmp_path / "logs"
    logdir.mkdir()

    def start(app_dir: Path, *args: str, **kw: object) -> Server:
        server = Server(app_dir, logdir, *args, **kw)  # type: ignore[arg-type]
        server.jar = jar  # one browser talks to every server of the test
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in started:
            server.stop()


def k_url(page: str) -> str:
    urls = K_URL.findall(page)
    assert urls, f"no continuation URL in:\n{page}"
    return urls[0].replace("&amp;", "&")


def run_add(server: Server, first: int, second: int) -> str:
    page = server.get("/add")
    assert page.status_code == 200, page.text
    page = server.post(k_url(page.text), data={"n": str(first)})
    assert page.status_code == 200, page.text
    page = server.post(k_url(page.text), data={"n": str(second)})
    assert page.status_code == 200, page.text
    return page.text


# -- the example app -------------------------------------------------------------------------


def test_the_example_apps_add_flow(tmp_path: Path, serve: Callable[..., Server]) -> None:
    app = tmp_path / "example_app"
    shutil.copytree(REPO / "example_app", app, ignore=shutil.ignore_patterns(".tmweb"))
    server = serve(app)
    first = server.get("/add")
    assert first.status_code == 200, first.text
    action = k_url(first.text)
    assert action.startswith("/k/")
    assert f'action="{action}"' in first.text
    second = server.post(action, data={"n": "3"})
    assert second.status_code == 200, second.text
    third = server.post(k_url(second.text), data={"n": "4"})
    assert third.status_code == 200, third.text
    assert re.search(r"3\s*\+\s*4\s*=\s*(<[^>]+>\s*)*7\b", third.text), third.text


# -- stores across processes -------------------------------------------------------------------


def test_two_servers_on_one_redis_share_continuations_across_restarts(
    tmp_path: Path, serve: Callable[..., Server], redis_url: str
) -> None:
    app = write_app(tmp_path / "app")
    a = serve(app, "--store", redis_url)
    b = serve(app, env={"TMWEB_STORE": redis_url})  # the store from the environment
    first = a.get("/add")
    assert first.status_code == 200
    k1 = k_url(first.text)
    second = b.post(k1, data={"n": "3"})
    assert second.status_code == 200, second.text
    assert "Second number" in second.text
    k2 = k_url(second.text)
    a.restart()
    assert "3 + 4 = <b>7</b>" in a.post(k2, data={"n": "4"}).text
    b.restart()
    # the back button, on the other server: the first step again, then on to the end
    again = b.post(k1, data={"n": "10"})
    assert again.status_code == 200, again.text
    assert "10 + 5 = <b>15</b>" in a.post(k_url(again.text), data={"n": "5"}).text


def test_the_default_sqlite_store_keeps_continuations_across_a_restart(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    app = write_app(tmp_path / "app")
    server = serve(app)
    page = server.post(k_url(server.get("/add").text), data={"n": "20"})
    k2 = k_url(page.text)
    server.restart()
    assert (app / ".tmweb").is_dir()
    assert "20 + 22 = <b>42</b>" in server.post(k2, data={"n": "22"}).text


def test_without_a_key_in_development_the_kept_random_key_survives_a_restart(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    app = write_app(tmp_path / "app")
    server = serve(app, secret_key=None)
    url = k_url(server.get("/add").text)
    assert (app / ".tmweb" / "secret_key").is_file()
    server.restart(signal.SIGTERM)
    r = server.post(url, data={"n": "1"})
    assert r.status_code == 200, r.text
    assert "Second number" in r.text


def test_the_ttl_flag_sets_how_long_a_continuation_lives(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    """The server's clock cannot be moved from here, so instead of waiting out the TTL the
    test reads it where the server wrote it - the signed token and the store's row - and
    then lets the row's time run out. Expiry by the clock itself (of the token and of the
    row) is tested with a fake clock in tests/web."""
    app = write_app(tmp_path / "app")
    server = serve(app, "--ttl", "7")
    before = time.time()
    url = k_url(server.get("/add").text)
    after = time.time()
    token = url.removeprefix("/k/")
    record = Tokens([KEY]).check(token)
    key, once, ttl = record.key, record.once, record.ttl
    assert (once, ttl) == (False, 7)
    with sqlite3.connect(app / ".tmweb" / "continuations.sqlite3") as db:
        (expires,) = db.execute("SELECT expires FROM continuations WHERE key = ?", (key,)).fetchone()
        assert before + 7 <= expires <= after + 7
        assert server.post(url, data={"n": "1"}).status_code == 200  # not yet
        db.execute("UPDATE continuations SET expires = ? WHERE key = ?", (time.time() - 1, key))
    r = server.post(url, data={"n": "1"})
    assert r.status_code == 410
    assert "expired" in r.text


# -- one-shot continuations under concurrency ---------------------------------------------------


async def _double_submit(base: str, rounds: int) -> list[list[int]]:
    results = []
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
        for _ in range(rounds):
            page = await client.get("/pay")
            url = k_url(page.text)
            answers = await asyncio.gather(
                client.post(url, data={"amount": "30"}), client.post(url, data={"amount": "30"})
            )
            results.append(sorted(r.status_code for r in answers))
            # the one that ran answers a 303 to its page (Post/Redirect/Get)
            paid = [r for r in answers if r.status_code == 303]
            assert paid and (await client.get(paid[0].headers["location"])).text == "paid 30"
    return results


def test_a_double_submit_of_a_one_shot_form_runs_it_exactly_once(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(write_app(tmp_path / "app"))
    assert asyncio.run(_double_submit(server.base, 5)) == [[303, 410]] * 5


def test_two_workers_serve_a_flow_and_share_one_shots(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(write_app(tmp_path / "app"), "--workers", "2")
    for i in range(4):
        assert f"{i} + 1 = <b>{i + 1}</b>" in run_add(server, i, 1)
    assert asyncio.run(_double_submit(server.base, 4)) == [[303, 410]] * 4


# -- Redis going away -------------------------------------------------------------------------


def test_a_stopped_redis_gives_503_and_the_server_recovers_by_itself(
    tmp_path: Path, serve: Callable[..., Server], redis_server, redis_url: str
) -> None:
    if not redis_server.can_restart:
        pytest.skip("the test Redis cannot be stopped")
    server = serve(write_app(tmp_path / "app"), "--store", redis_url)
    url = k_url(server.get("/add").text)
    redis_server.stop()
    try:
        down = server.post(url, data={"n": "1"})
        assert down.status_code == 503
        assert "Temporarily unavailable" in down.text
        assert server.get("/add").status_code == 503
    finally:
        redis_server.start()
    err = server.output()
    assert re.search(r"(?i)redis.*(unreachable|refused|unavailable|down)", err), err
    assert "Traceback" not in err
    # no restart of the server: the next requests work again
    deadline = time.monotonic() + 10
    while (r := server.get("/add")).status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert r.status_code == 200, r.text
    assert server.post(k_url(r.text), data={"n": "2"}).status_code == 200


# -- logs ------------------------------------------------------------------------------------


def test_tokens_never_appear_in_full_in_the_servers_output(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    server = serve(write_app(tmp_path / "app"))
    url = k_url(server.get("/add").text)
    token = url.removeprefix("/k/")
    assert server.post(url, data={"n": "1"}).status_code == 200
    assert server.get(url, params={"n": "2"}).status_code == 200
    once = k_url(server.get("/pay").text)
    once_token = once.removeprefix("/k/")
    assert server.post(once, data={"amount": "1"}).status_code == 200
    assert server.post(once, data={"amount": "1"}).status_code == 410
    tampered = token[:-3] + "xyz"
    assert server.get(f"/k/{tampered}").status_code == 400
    failing = k_url(server.get("/fail-later").text)
    failing_token = failing.removeprefix("/k/")
    assert server.post(failing, data={"n": "x"}).status_code == 500
    server.stop()
    out = server.output()
    assert f"/k/{token[:8]}…" in out, out
    assert f"/k/{once_token[:8]}…" in out
    assert f"/k/{failing_token[:8]}…" in out
    for secret in (token, once_token, tampered, failing_token):
        assert secret not in out
        assert secret[:20] not in out


# -- configuration errors ------------------------------------------------------------------------


def test_production_without_a_secret_key_refuses_to_start(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    p = subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "serve", str(app), "--port", str(free_port())],
        env=base_env(TMWEB_ENV="production"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode != 0
    assert "TMWEB_SECRET_KEY" in p.stderr
    assert "secret key" in p.stderr
    assert "Traceback" not in p.stderr
    assert not (app / ".tmweb" / "secret_key").exists()


@pytest.mark.parametrize("how", ["--secret-key", "TMWEB_SECRET_KEY"])
def test_production_refuses_a_short_secret_key(tmp_path: Path, how: str) -> None:
    app = write_app(tmp_path / "app")
    keys = "k" * 32 + ",ab"  # the old key of a rotation is checked too
    cmd = [sys.executable, "-m", "tmweb.cli", "serve", str(app), "--port", str(free_port())]
    env = base_env(TMWEB_ENV="production")
    if how == "--secret-key":
        cmd += ["--secret-key", keys]
    else:
        env["TMWEB_SECRET_KEY"] = keys
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 1
    assert "key 2 of 2 is 2 bytes" in p.stderr
    assert "at least 32 bytes" in p.stderr
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in p.stderr
    assert "Traceback" not in p.stderr


def test_in_production_with_a_key_errors_are_plain_pages(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    # production's session cookie is Secure, which a browser sends over HTTPS only; this
    # test speaks plain HTTP, so it turns session binding off
    server = serve(
        write_app(tmp_path / "app"), "--no-session-binding",
        secret_key=STRONG_KEY, env={"TMWEB_ENV": "production"},
    )
    url = k_url(server.get("/fail-later").text)
    r = server.post(url, data={"n": "x"})
    assert r.status_code == 500
    assert "main.tm" not in r.text
    assert "expected a number" not in r.text
    assert "main.tm:" in server.output()  # the trace went to the log instead


def test_a_bad_store_url_makes_serve_exit_with_a_clear_message(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    cmd = [sys.executable, "-m", "tmweb.cli", "serve", str(app), "--port", str(free_port())]
    proc = subprocess.Popen(
        cmd + ["--secret-key", KEY, "--store", "mysql://localhost/db"],
        env=base_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = proc.communicate(timeout=4)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AssertionError("tmweb serve kept running with an unsupported store URL") from None
    assert proc.returncode != 0
    assert "mysql://localhost/db" in err
    assert "Traceback" not in err


def test_an_app_with_a_syntax_error_is_reported_before_serving(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", '(defroute GET "/" [req]\n  (str "unclosed")\n')
    p = subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "serve", str(app), "--port", str(free_port())]
        + ["--secret-key", KEY],
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert p.returncode == 1
    assert "main.tm:1" in p.stderr
    assert "Traceback" not in p.stderr


def test_reload_picks_up_an_edited_module_without_a_restart(
    tmp_path: Path, serve: Callable[..., Server]
) -> None:
    app = write_app(tmp_path / "app")
    server = serve(app, "--reload")
    assert "First number" in server.get("/add").text
    main = app / "main.tm"
    main.write_text(main.read_text().replace("First number", "Erste Zahl"), encoding="utf-8")
    deadline = time.time() + 20
    text = ""
    while time.time() < deadline:
        try:
            text = server.get("/add").text
        except httpx.HTTPError:  # the worker is restarting
            text = ""
        if "Erste Zahl" in text:
            break
        time.sleep(0.3)
    assert "Erste Zahl" in text
