"""The seed's process-order workflow in the example app, through `tmweb serve` (which runs
a workflow worker in-process): a page starts it, the progress page shows its steps, and a
server killed with SIGKILL between payment and fulfilment leaves the card charged once and
the order fulfilled after the restart."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

from tests.e2e.test_serve import REPO, Server, serve  # noqa: F401  (the serve fixture)


def progress(server: Server, url: str) -> str:
    r = server.get(url)
    assert r.status_code == 200, r.text
    return r.text


def status_of(page: str) -> str:
    m = re.search(r'<strong class="status">([^<]*)</strong>', page)
    assert m, page
    return m.group(1)


def wait_status(server: Server, url: str, wanted: str, timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while True:
        page = progress(server, url)
        if status_of(page) == wanted:
            return page
        assert time.monotonic() < deadline, f"still {status_of(page)}:\n{page}\n{server.output()}"
        time.sleep(0.05)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_an_order_is_charged_once_and_fulfilled_after_a_crash_between_payment_and_fulfilment(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    app = tmp_path / "example_app"
    shutil.copytree(REPO / "example_app", app, ignore=shutil.ignore_patterns(".tmweb"))
    server = serve(app, env={"TMWEB_WORKFLOW_LEASE": "1"})
    assert "Place an order" in server.get("/orders").text
    started = server.post("/orders", data={"sku": "mug"}, follow_redirects=False)
    assert started.status_code == 303, started.text
    url = started.headers["location"]
    assert re.fullmatch(r"/orders/wf-[0-9a-f]{16}", url)
    # charged, now waiting for the warehouse: the crash comes here
    page = wait_status(server, url, "sleeping")
    assert "<li>charge-payment</li>" in page and "fulfil</li>" not in page
    assert len(lines(server.logdir / "payments.log")) == 1
    server.restart()  # SIGKILL to the server's process group, then a fresh start
    page = wait_status(server, url, "done")
    assert "<li>charge-payment</li><li>fulfil</li>" in page
    assert "{:shipped &#34;mug&#34;}" in page
    wf_id = url.rsplit("/", 1)[1]
    assert lines(server.logdir / "payments.log") == [f"charged 1200 key {wf_id}/charge-payment"]
    assert lines(server.logdir / "shipments.log") == [f"shipped mug key {wf_id}/fulfil"]


def test_an_invalid_order_fails_and_the_progress_page_says_why(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    app = tmp_path / "example_app"
    shutil.copytree(REPO / "example_app", app, ignore=shutil.ignore_patterns(".tmweb"))
    server = serve(app)
    url = server.post("/orders", data={"sku": "piano"}, follow_redirects=False).headers["location"]
    page = wait_status(server, url, "failed")
    assert "Invalid order: no item piano" in page and "orders.tm:" in page
    unknown = server.get("/orders/wf-0000000000000000")
    assert unknown.status_code == 404 and "No such order" in unknown.text
