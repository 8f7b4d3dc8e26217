"""Fixtures shared by every test folder: a real Redis server, a clock tests move, and the
Hypothesis profiles.

`redis_server` starts `redis-server` on a free port for the whole session, or uses the
server named by `TMWEB_TEST_REDIS` (a URL whose database the tests may flush; such a server
cannot be stopped and restarted, so tests needing that skip). Without redis-server the
Redis tests skip, except on CI (`CI=true`), where they fail loudly.

`clock` is the time tokens and the SQLite store read (`tmweb.App(clock=...)`), moved
forward by `clock.advance(seconds)` instead of a real wait.

Hypothesis runs under one of two profiles: `dev`, the default, with few examples per
property so the suite stays quick, and `ci`, chosen by `CI=true` (as .ci/run sets it) or by
`--hypothesis-profile=ci`, with ten times as many. Tests never name a number of examples;
one that needs more or fewer than the others asks for a multiple of the profile's count
(`examples` in tests/lang/conftest.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis
from hypothesis import settings

settings.register_profile("dev", max_examples=100)
settings.register_profile("ci", max_examples=1000)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """A redis-server subprocess on 127.0.0.1:`port`, which tests may stop and start."""

    def __init__(self, executable: str, port: int, workdir: Path) -> None:
        self.executable = executable
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.workdir = workdir
        self.log = workdir / "redis.log"
        self.can_restart = True
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the server (again, on the same port) and wait until it answers PING."""
        if self.running:
            return
        with open(self.log, "ab") as log:
            self._proc = subprocess.Popen(
                [self.executable, "--port", str(self.port), "--bind", "127.0.0.1"]
                + ["--save", "", "--appendonly", "no", "--daemonize", "no"]
                + ["--dir", str(self.workdir)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
            )
        self._wait_ready()

    def stop(self) -> None:
        """Terminate the server and wait for it to exit; clients now get 'connection refused'."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _wait_ready(self, timeout: float = 10.0) -> None:
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while True:
                assert self._proc is not None
                if self._proc.poll() is not None:
                    raise RuntimeError(
                        f"redis-server exited with {self._proc.returncode} on port {self.port}:\n"
                        + self.log.read_text(errors="replace")[-2000:]
                    )
                try:
                    if client.ping():
                        return
                except redis.exceptions.RedisError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server on port {self.port} did not answer PING")
                time.sleep(0.05)
        finally:
            client.close()


class ExternalRedis:
    """The server named by TMWEB_TEST_REDIS: used as is, never stopped."""

    can_restart = False
    running = True

    def __init__(self, url: str) -> None:
        self.url = url
        self.port = urlsplit(url).port

    def start(self) -> None:
        pytest.skip("TMWEB_TEST_REDIS is set: cannot stop or start an external Redis")

    def stop(self) -> None:
        pytest.skip("TMWEB_TEST_REDIS is set: cannot stop or start an external Redis")


class FakeClock:
    """Seconds since the epoch that move only when a test says so.

    It starts at a whole second (now, rounded down), so that "1.5 s later" is 1 s later for
    itsdangerous, which compares whole seconds. Redis expires keys by its own clock, which
    nothing can set: for each Redis passed to `follow`, `advance` shortens the TTL of every
    key by the same amount (a key whose TTL runs out is deleted, as Redis would expire it).
    """

    def __init__(self) -> None:
        self.now = float(int(time.time()))
        self._redis_urls: list[str] = []

    def __call__(self) -> float:
        return self.now

    def follow(self, redis_url: str) -> None:
        self._redis_urls.append(redis_url)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for url in self._redis_urls:
            client = redis.Redis.from_url(url)
            try:
                for key in client.scan_iter():
                    left = client.pttl(key)
                    if left >= 0:  # -1: no expiry, -2: gone meanwhile
                        client.pexpire(key, left - int(seconds * 1000))  # <= 0 deletes it
            finally:
                client.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer | ExternalRedis]:
    external = os.environ.get("TMWEB_TEST_REDIS")
    if external:
        yield ExternalRedis(external)
        return
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                "redis-server is not installed on this CI machine, so the Redis tests cannot "
                "run: install it (apt-get install redis-server) or set TMWEB_TEST_REDIS",
                pytrace=False,
            )
        pytest.skip(
            "redis-server not installed: install it (apt-get install redis-server) "
            "to run the Redis tests"
        )
    server = RedisServer(executable, _free_port(), tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer | ExternalRedis) -> str:
    """The test Redis URL, with an empty database (and the server running)."""
    if not redis_server.running:
        redis_server.start()  # a test that stopped it failed before restarting it
    client = redis.Redis.from_url(redis_server.url)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server.url
