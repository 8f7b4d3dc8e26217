"""`tmweb workflow start|list|show|signal|retry|check` and `tmweb worker`, end to end as
real processes on an app's embedded SQLite store."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

KEY = "workflow-cli-secret-key-0123456789abcdef"

FLOWS = """
(defroute GET "/ask" [req] (str "got " (get (send/suspend (fn [u] (str "<a href=" u ">go</a>"))) "v")))

(defn greet [name n] (workflow/step "hello" (fn [] (str "hello " name " " (* n 2)))))

(defn waiter [] (def v (workflow/await-signal "go")) (+ v 1))
"""


def tmweb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TMWEB_SECRET_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-m", "tmweb.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def app(tmp_path: Path) -> Path:
    d = tmp_path / "app"
    d.mkdir()
    (d / "flows.tm").write_text(FLOWS)
    return d


@pytest.fixture
def worker(app: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "TMWEB_SECRET_KEY": KEY}
    p = subprocess.Popen(
        [sys.executable, "-m", "tmweb.cli", "worker", str(app), "--lease", "1", "--poll", "0.05"],
        cwd=app.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield p
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def show_until(app: Path, wf_id: str, status: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        out = tmweb("workflow", "show", str(app), wf_id, cwd=app.parent)
        assert out.returncode == 0, out.stderr
        if f"status:     {status}" in out.stdout:
            return out.stdout
        assert time.monotonic() < deadline, out.stdout
        time.sleep(0.05)


def test_start_list_show_a_workflow_run_by_a_worker(app: Path, worker: subprocess.Popen[bytes]) -> None:
    started = tmweb("workflow", "start", str(app), "flows/greet", '"ann"', "21", cwd=app.parent)
    assert started.returncode == 0, started.stderr
    wf_id = started.stdout.strip()
    assert re.fullmatch(r"wf-[0-9a-f]{16}", wf_id)
    out = show_until(app, wf_id, "done")
    assert "function:   flows.greet" in out
    assert 'result:     "hello ann 42"' in out
    assert "steps done: hello" in out
    assert re.search(r"checkpoint: hello \(\d+ bytes, 1 written\)", out)
    listed = tmweb("workflow", "list", str(app), cwd=app.parent)
    assert re.search(rf"{wf_id}  done\s+flows.greet  hello", listed.stdout), listed.stdout


def test_signal_a_waiting_workflow_from_the_command_line(app: Path, worker: subprocess.Popen[bytes]) -> None:
    wf_id = tmweb("workflow", "start", str(app), "flows/waiter", cwd=app.parent).stdout.strip()
    out = show_until(app, wf_id, "waiting")
    assert "waiting for the signal 'go'" in out
    sent = tmweb("workflow", "signal", str(app), wf_id, "go", "41", cwd=app.parent)
    assert sent.returncode == 0 and "signal 'go' sent" in sent.stdout
    assert "result:     42" in show_until(app, wf_id, "done")
    again = tmweb("workflow", "signal", str(app), wf_id, "go", "1", cwd=app.parent)
    assert again.returncode == 1 and f"workflow {wf_id} is done: it takes no more signals" in again.stderr


def test_bad_input_is_a_message_and_exit_status_1(app: Path) -> None:
    for args, message in [
        (("show", str(app), "wf-nope"), "no workflow with the id 'wf-nope'"),
        (("signal", str(app), "wf-nope", "go"), "no workflow with the id 'wf-nope'"),
        (("start", str(app), "flows/nothing"), "no function flows/nothing in the app"),
        (("start", str(app), "greet"), "write MODULE/FUNCTION"),
    ]:
        out = tmweb("workflow", *args, cwd=app.parent)
        assert out.returncode == 1 and message in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr


def test_check_lists_the_workflows_changed_code_cannot_resume_and_retry_resumes_them(
    app: Path,
) -> None:
    wf_id = tmweb("workflow", "start", str(app), "flows/waiter", cwd=app.parent).stdout.strip()
    env = {**os.environ, "TMWEB_SECRET_KEY": KEY}
    w = subprocess.Popen([sys.executable, "-m", "tmweb.cli", "worker", str(app), "--lease", "1", "--poll", "0.05"],
                         cwd=app.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        show_until(app, wf_id, "waiting")
    finally:
        w.send_signal(signal.SIGTERM)
        w.wait(10)
    # a web continuation suspended in the same app (same store and key)
    from starlette.testclient import TestClient

    from tmweb.web.app import App

    with TestClient(App(str(app), secret_key=KEY)) as client:
        assert "/k/" in client.get("/ask").text
    ok = tmweb("workflow", "check", str(app), cwd=app.parent)
    assert ok.returncode == 0, ok.stdout
    assert "1 of 1 unfinished workflows can be resumed" in ok.stdout
    assert "1 of 1 live web continuations can be resumed" in ok.stdout
    (app / "flows.tm").write_text(FLOWS.replace("(+ v 1)", "(+ v 100)").replace('"got "', '"now "'))
    bad = tmweb("workflow", "check", str(app), cwd=app.parent)
    assert bad.returncode == 1, bad.stdout
    assert f"{wf_id} (waiting, flows.waiter, at await go): cannot be resumed" in bad.stdout
    assert "flows.waiter" in bad.stdout and "0 of 1 unfinished" in bad.stdout
    assert "0 of 1 live web continuations" in bad.stdout
    assert re.search(r"continuation \S+…: cannot be resumed: the code of flows\.GET /ask changed", bad.stdout), bad.stdout
    # deployed anyway: the signal wakes it, the worker fails it naming the function
    assert tmweb("workflow", "signal", str(app), wf_id, "go", "1", cwd=app.parent).returncode == 0
    w = subprocess.Popen([sys.executable, "-m", "tmweb.cli", "worker", str(app), "--lease", "1", "--poll", "0.05"],
                         cwd=app.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        failed = show_until(app, wf_id, "failed")
        assert "schema-mismatch" in failed and "the code of flows.waiter changed" in failed
    finally:
        w.send_signal(signal.SIGTERM)  # the deploy is rolled back: workers of the old code go
        w.wait(10)
    (app / "flows.tm").write_text(FLOWS)  # the code restored
    assert tmweb("workflow", "check", str(app), cwd=app.parent).returncode == 0
    retried = tmweb("workflow", "retry", str(app), wf_id, cwd=app.parent)
    assert retried.returncode == 0 and "will be resumed from its last checkpoint" in retried.stdout
    w = subprocess.Popen([sys.executable, "-m", "tmweb.cli", "worker", str(app), "--lease", "1", "--poll", "0.05"],
                         cwd=app.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        assert "result:     2" in show_until(app, wf_id, "done")
    finally:
        w.send_signal(signal.SIGTERM)
        w.wait(10)
