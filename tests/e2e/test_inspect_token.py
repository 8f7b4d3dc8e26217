"""`tmweb inspect TOKEN`: look inside a suspended web continuation without using it up."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from starlette.testclient import TestClient

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
        [sys.executable, "-m", "tmweb.cli", "inspect", "not-a-token.abc"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 1
    assert "neither a file nor a token" in p.stderr
    assert "Traceback" not in p.stderr
