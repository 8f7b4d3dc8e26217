"""Workers as real processes on the embedded SQLite store and on Redis: `tmweb worker` killed with
SIGKILL while a workflow runs, sleeps or waits for a signal, another worker resumes it
from its last checkpoint within the lease, and no step recorded as done runs again;
competing workers run every workflow exactly once; a durable sleep outlives its worker."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tmweb.web.app import App

KEY = "workflow-e2e-secret-key-0123456789abcdef"
LEASE = "1"

HELPERS = """
import asyncio
import os

from tmweb.lang import register_python


def effect(text):
    # one line per call, appended atomically: every worker process's effects are counted
    fd = os.open("effects.txt", os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, (text + "\\n").encode())
    finally:
        os.close(fd)
    return text


async def pause(seconds):
    await asyncio.sleep(seconds)


register_python("wft.effect", effect)
register_python("wft.pause", pause)
"""

FLOWS = """
(defn order [n]
  (checkpoint "started" n)
  (def paid (workflow/step "pay" (fn [] (wft.effect (str "pay " (workflow/step-key))))))
  (wft.effect (str "between " (workflow/id)))
  (wft.pause 1.5)
  (def shipped (workflow/step "ship" (fn [] (wft.effect (str "ship " (workflow/step-key))))))
  [paid shipped])

(defn napper [seconds]
  (wft.effect (str "nap " (workflow/id)))
  (workflow/sleep seconds)
  (workflow/step "woke" (fn [] (wft.effect (str "woke " (workflow/step-key))))))

(defn waiter []
  (def v (workflow/await-signal "go"))
  (workflow/step "got" (fn [] (wft.effect (str "got " v " " (workflow/step-key))))))

(defn analyze [n every]
  ;; the seed's dataset checkpointing: a checkpoint every `every` items (incremental: the
  ;; items already processed are chunks stored by an earlier checkpoint)
  (let [processed (ref [])]
    (for-each-with-index (range n)
      (fn [i item]
        (swap! processed conj {:item item :square (* item item)})
        (when (= (mod (+ i 1) every) 0)
          (checkpoint (str "after " (+ i 1)) i)
          (wft.effect (str "checkpointed " (+ i 1)))
          (wft.pause 0.4))))
    [(count (deref processed)) (get (last (deref processed)) :square)]))

(defn travel [n]
  ;; the seed's task migration: half the job on one machine, the rest on another
  (def half (workflow/step "first half" (fn [] (wft.effect (str "first half on " (getenv "NODE"))) (* n 2))))
  (workflow/migrate "node-b")
  (workflow/step "second half" (fn [] (wft.effect (str "second half on " (getenv "NODE"))) (+ half 1))))

(defn short [i]
  (workflow/step "only" (fn [] (wft.effect (str "only " (workflow/step-key))))))
"""


class Workers:
    """Starts and kills `tmweb worker` processes of one app folder."""

    def __init__(self, root: Path, store: str | None) -> None:
        self.root = root
        self.store = ["--store", store] if store else []
        self.app_dir = root / "app"
        self.procs: list[subprocess.Popen[bytes]] = []

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TMWEB_SECRET_KEY"] = KEY
        env["PYTHONPATH"] = os.pathsep.join([str(self.root), env.get("PYTHONPATH", "")])
        return env

    def start(self, *extra: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = open(self.root / f"worker{len(self.procs)}.log", "wb")  # noqa: SIM115
        p = subprocess.Popen(
            [sys.executable, "-m", "tmweb.cli", "worker", str(self.app_dir), "--lease", LEASE,
             "--poll", "0.05", "--import", "wfhelpers", *self.store, *extra],
            cwd=self.root, env={**self.env(), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.procs.append(p)
        return p

    def kill(self, p: subprocess.Popen[bytes]) -> None:
        p.send_signal(signal.SIGKILL)
        p.wait(10)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tmweb.cli", "workflow", *args, *self.store],
            cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    def stop_all(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                p.wait(10)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Each test runs on the embedded SQLite store and on Redis (Streams)."""
    return request.getfixturevalue("redis_url") if request.param == "redis" else None


@pytest.fixture
def workers(tmp_path: Path, store_url: str | None) -> Iterator[Workers]:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "flows.tm").write_text(textwrap.dedent(FLOWS))
    (tmp_path / "wfhelpers.py").write_text(HELPERS)
    w = Workers(tmp_path, store_url)
    try:
        yield w
    finally:
        w.stop_all()


@pytest.fixture
def app(workers: Workers, store_url: str | None) -> App:
    sys.path.insert(0, str(workers.root))
    try:
        import wfhelpers  # noqa: F401  (registers wft.effect for the app's code)
    finally:
        sys.path.remove(str(workers.root))
    return App(str(workers.app_dir), store=store_url, secret_key=KEY)


def effects(w: Workers) -> list[str]:
    path = w.root / "effects.txt"
    return path.read_text().splitlines() if path.exists() else []


def start(app: App, name: str, *args: object) -> str:
    f = app.rt.modules["flows"].cells[name].value
    return asyncio.run(app.workflows.start(f, args))


def wait_for(cond: Callable[[], object], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def status(app: App, wf_id: str) -> str:
    return asyncio.run(app.workflows.get(wf_id)).status


def result(app: App, wf_id: str) -> object:
    row = asyncio.run(app.workflows.get(wf_id))
    assert row.status == "done", row.error
    return app.workflows.value(row.result)


def test_a_worker_killed_while_running_is_resumed_from_the_last_checkpoint(workers: Workers, app: App) -> None:
    first = workers.start()
    wf = start(app, "order", 7)
    wait_for(lambda: f"between {wf}" in effects(workers), what="the payment")
    workers.kill(first)
    killed = time.monotonic()
    workers.start()
    wait_for(lambda: status(app, wf) == "done", what="the resumed workflow")
    # resumed within the lease (1 s) plus the pause after the checkpoint (1.5 s) and a start
    assert time.monotonic() - killed < 1 + 1.5 + 6
    done = effects(workers)
    assert done.count(f"pay {wf}/pay") == 1  # the recorded step did not run again
    assert done.count(f"between {wf}") == 2  # the code after the checkpoint did
    assert done.count(f"ship {wf}/ship") == 1
    assert list(result(app, wf)) == [f"pay {wf}/pay", f"ship {wf}/ship"]


def test_a_durable_sleep_outlives_its_worker(workers: Workers, app: App) -> None:
    first = workers.start()
    wf = start(app, "napper", 2)
    wait_for(lambda: status(app, wf) == "sleeping", what="the sleep")
    slept_at = time.time()
    workers.kill(first)
    workers.start()
    wait_for(lambda: status(app, wf) == "done", what="the wake-up")
    assert time.time() - slept_at >= 1.9
    assert effects(workers).count(f"nap {wf}") == 1  # resumed after the sleep, not from the start
    assert effects(workers).count(f"woke {wf}/woke") == 1


def test_a_worker_killed_while_waiting_for_a_signal_gets_it_after_restart(workers: Workers, app: App) -> None:
    first = workers.start()
    wf = start(app, "waiter")
    wait_for(lambda: status(app, wf) == "waiting", what="the wait")
    workers.kill(first)
    sent = workers.cli("signal", str(workers.app_dir), wf, "go", '"ship-it"')
    assert sent.returncode == 0, sent.stderr
    workers.start()
    wait_for(lambda: status(app, wf) == "done", what="the signal")
    assert effects(workers) == [f"got ship-it {wf}/got"]


def test_three_competing_workers_run_each_workflow_exactly_once(workers: Workers, app: App) -> None:
    n = 300
    ids = [start(app, "short", i) for i in range(n)]
    for _ in range(3):
        workers.start()
    wait_for(lambda: len(asyncio.run(app.workflows.backend.list("done", 10_000))) == n, 60, "every workflow")
    counts = collections.Counter(effects(workers))
    assert counts == {f"only {i}/only": 1 for i in ids}
    rows = asyncio.run(app.workflows.backend.list(None, 10_000))
    assert all(r.claims == 1 for r in rows)


def test_a_thousand_short_workflows_across_two_workers_one_killed_midway(workers: Workers, app: App) -> None:
    n = 1000
    ids = [start(app, "short", i) for i in range(n)]
    doomed = workers.start()
    workers.start()
    wait_for(lambda: len(effects(workers)) > n // 4, 60, "a quarter of the workflows")
    workers.kill(doomed)
    wait_for(lambda: len(asyncio.run(app.workflows.backend.list("done", 10_000))) == n, 90, "every workflow")
    counts = collections.Counter(effects(workers))
    assert set(counts) == {f"only {i}/only" for i in ids}
    # only a step the killed worker ran but had not recorded can run again (same key)
    assert sum(c - 1 for c in counts.values()) <= 8


def test_the_seeds_dataset_checkpointing_survives_a_kill(workers: Workers, app: App) -> None:
    first = workers.start()
    wf = start(app, "analyze", 5000, 1000)
    wait_for(lambda: "checkpointed 2000" in effects(workers), what="two checkpoints")
    workers.kill(first)
    workers.start()
    wait_for(lambda: status(app, wf) == "done", what="the rest of the dataset")
    assert list(result(app, wf)) == [5000, 4999 * 4999]
    done = effects(workers)
    assert done.count("checkpointed 1000") == 1  # resumed from a checkpoint, not from item 0
    assert done[-1] == "checkpointed 5000"
    assert asyncio.run(app.workflows.get(wf)).checkpoints >= 5


def test_a_job_started_on_one_worker_migrates_to_another_queue_and_finishes_there(
    workers: Workers, app: App
) -> None:
    workers.start(env={"NODE": "a"})
    workers.start("--queue", "node-b", env={"NODE": "b"})
    wf = start(app, "travel", 20)
    wait_for(lambda: status(app, wf) == "done", what="the migrated job")
    assert result(app, wf) == 41
    assert effects(workers) == ["first half on a", "second half on b"]
    assert asyncio.run(app.workflows.get(wf)).queue == "node-b"
