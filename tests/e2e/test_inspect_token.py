"""`tmweb inspect TOKEN|URL`: look inside a suspended web continuation without using it up,
from the app folder or from anywhere with `--root`."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tmweb.inspect import InspectError, token_of
from tmweb.web.app import App

ROOT = Path(__file__).resolve().parents[2]


def test_inspect_a_token_shows_frames_and_locals_and_leaves_it_usable(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(ROOT / "bench" / "web_app", app_dir)
    client = TestClient(App(str(app_dir)))
    r = client.get("/add")
    url = re.search(r'action="([^"]+)"', r.text).group(1)
    r = client.post(url, data={"n": "3"})
    url = re.search(r'action="([^"]+)"', r.text).group(1)
    token = url.split("/k/")[1]
    p = subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "inspect", token],
        cwd=app_dir, capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert "add.ask-number" in p.stdout and "add.GET /add" in p.stdout
    assert 'label = "Second number"' in p.stdout
    assert "a = 3" in p.stdout
    # inspecting did not consume it
    assert "3 + 4 = " in client.post(url, data={"n": "4"}).text.replace("<strong>", "")


def test_inspect_a_tampered_token_says_so(tmp_path: Path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "inspect", "not-a-token.abc", "--secret-key", "k" * 32],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 1
    assert "neither a file nor a token" in p.stderr
    assert "Traceback" not in p.stderr
    assert list(tmp_path.iterdir()) == []  # no key or store made where it ran


def _inspect(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "inspect", *args],
        cwd=cwd, capture_output=True, text=True, timeout=60,
    )


def _second_step_url(app_dir: Path) -> str:
    client = TestClient(App(str(app_dir)))
    url = re.search(r'action="([^"]+)"', client.get("/add").text).group(1)
    return re.search(r'action="([^"]+)"', client.post(url, data={"n": "3"}).text).group(1)


def test_inspect_takes_a_whole_url_from_any_folder_with_root(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(ROOT / "bench" / "web_app", app_dir)
    url = _second_step_url(app_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for target in (f"http://127.0.0.1:8000{url}", f"/shop{url}?x=1", url.split("/k/")[1]):
        p = _inspect(target, "--root", str(app_dir), cwd=elsewhere)
        assert p.returncode == 0, p.stderr
        assert "add.ask-number" in p.stdout and "a = 3" in p.stdout
    assert list(elsewhere.iterdir()) == []  # nothing written where it ran


def test_inspect_outside_an_app_folder_says_to_pass_root_and_creates_nothing(tmp_path: Path) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(ROOT / "bench" / "web_app", app_dir)
    url = _second_step_url(app_dir)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    p = _inspect(f"http://localhost:8000{url}", cwd=elsewhere)
    assert p.returncode == 1
    assert "no key to check the token with" in p.stderr and "--root APP_DIR" in p.stderr
    assert "Traceback" not in p.stderr
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("http://127.0.0.1:8000/add", "the path of a continuation URL ends in /k/TOKEN"),
        ("/shop/k/", "the path of a continuation URL ends in /k/TOKEN"),
        ("two words", "is not a continuation token"),
        ("/k/<script>", "is not a continuation token"),
        ("", "nothing to inspect"),
        ("/k/abc.def.ghi", "neither a file nor a token signed with this app's key"),
    ],
)
def test_inspect_explains_a_bad_token_or_url(tmp_path: Path, target: str, says: str) -> None:
    app_dir = tmp_path / "app"
    shutil.copytree(ROOT / "bench" / "web_app", app_dir)
    _second_step_url(app_dir)  # the app has served: it has its key and store
    p = _inspect(target, "--root", str(app_dir), cwd=tmp_path)
    assert p.returncode == 1
    assert says in p.stderr, p.stderr
    assert "Traceback" not in p.stderr


@pytest.mark.parametrize(
    ("target", "token"),
    [
        ("abc.DEF-_9", "abc.DEF-_9"),
        ("  abc.def  ", "abc.def"),
        ("http://example.com:8000/k/abc.def", "abc.def"),
        ("https://example.com/shop/k/abc.def/?x=1#top", "abc.def"),
        ("/k/abc.def", "abc.def"),
        ("/shop/k/abc%2Edef?x=1", "abc.def"),
        ("k/abc.def", "abc.def"),
    ],
)
def test_the_token_of_a_url_or_a_bare_token(target: str, token: str) -> None:
    assert token_of(target) == token


@pytest.mark.parametrize("target", ["", "http://h/add", "/k/", "/k/a b", "http://h/k/abc/more", "a+b"])
def test_what_is_not_a_token_is_refused_with_a_reason(target: str) -> None:
    with pytest.raises(InspectError):
        token_of(target)
