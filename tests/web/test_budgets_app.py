"""The app's session budgets (issue 11): each browser session pays for what it keeps, bound
to it or not, and the settings are checked when the app starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tmweb.web.errors import ConfigError

from .test_app import k_url, make_app

STEPS = """
(defroute GET "/step" [req]
  (loop [n 0]
    (send/suspend (fn [u] (html [:p "step " n] [:a {:href u} "next"])))
    (recur (+ n 1))))
"""


@pytest.mark.parametrize("bind", [True, False])
def test_a_session_keeps_its_newest_continuations_and_others_keep_theirs(
    tmp_path: Path, bind: bool
) -> None:
    app = make_app(tmp_path, STEPS, session_max_continuations=3, bind_to_session=bind)
    with TestClient(app) as alice, TestClient(app) as bob:
        bobs = k_url(bob.get("/step").text)
        urls = [k_url(alice.get("/step").text)]
        for _ in range(5):
            urls.append(k_url(alice.get(urls[-1]).text))
        assert [alice.get(u).status_code for u in urls[:3]] == [410, 410, 410]
        assert "step 6" in alice.get(urls[-1]).text  # the link on page 5 still works
        assert "step 1" in bob.get(bobs).text  # another session's budget is its own


def test_budget_settings_are_checked_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="session_max_continuations must be at least 1"):
        make_app(tmp_path, STEPS, session_max_continuations=0)
    with pytest.raises(ConfigError, match="must be at least max_continuation_bytes"):
        make_app(tmp_path, STEPS, session_max_bytes=1000)
    with pytest.raises(ConfigError, match="store_max_bytes=1000 is too small"):
        make_app(tmp_path, STEPS, store_max_bytes=1000)
    with pytest.raises(ConfigError, match="maxmemory"):
        make_app(tmp_path, STEPS, store="redis://127.0.0.1:1/0", store_max_bytes=64 << 20)
