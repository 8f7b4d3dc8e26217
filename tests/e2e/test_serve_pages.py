"""tmweb's own pages through a real `tmweb serve` of the example app: they take its layout
(example_app/templates/tmweb/layout.html), 404 and 405 are tmweb pages, a one-shot payment
submitted again after it went through says the step was completed, and `tmweb inspect`
reads a step of the running server by its whole URL from another folder."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from .test_serve import KEY, REPO, Server, k_url, serve  # noqa: F401  (serve is a fixture)

ADDRESS = {"name": "Ann Lee", "street": "1 Main St", "city": "Springfield", "postcode": "12345", "country": "USA"}
LAYOUT = '<a class="brand" href="/">tmweb <span>examples</span></a>'  # the example's header


def example(tmp_path: Path) -> Path:
    app = tmp_path / "example_app"
    shutil.copytree(REPO / "example_app", app, ignore=shutil.ignore_patterns(".tmweb"))
    return app


def test_tmwebs_pages_take_the_example_apps_layout(tmp_path: Path, serve: Callable[..., Server]) -> None:  # noqa: F811
    server = serve(example(tmp_path))
    r = server.get("/no-such-page")
    assert r.status_code == 404
    assert LAYOUT in r.text and "There is no page here" in r.text
    assert '<link rel="stylesheet" href="/static/style.css">' in r.text
    r = server.post("/add", data={"n": "1"})
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    assert LAYOUT in r.text and "answers GET, HEAD, not POST" in r.text
    r = server.get("/k/tampered.token.here")
    assert r.status_code == 400 and LAYOUT in r.text and "This link is not valid" in r.text
    assert "Traceback" not in server.output()


def test_a_completed_one_shot_payment_submitted_again_says_so(tmp_path: Path, serve: Callable[..., Server]) -> None:  # noqa: F811
    server = serve(example(tmp_path))
    cart = server.get("/checkout")
    address = server.post(k_url(cart.text), data={"qty-mug": "1", "qty-tea": " 2 ", "qty-socks": "", "qty-sticker": "0"})
    assert "Shipping address" in address.text and "$29.00" in address.text
    payment = server.post(k_url(address.text), data=ADDRESS)
    pay_url = k_url(payment.text)
    done = server.post(pay_url, data={"card": "4242 4242 4242 4242"})
    assert done.status_code == 200 and "Thank you!" in done.text
    again = server.post(pay_url, data={"card": "4242 4242 4242 4242"})
    assert again.status_code == 410
    assert "This step was already completed" in again.text
    assert LAYOUT in again.text
    assert re.search(r'<a class="button[^"]*" href="/checkout">Start again</a>', again.text), again.text
    # the cart, made final by the payment's (redirect/get :forward #t), says so too
    old_cart = server.post(k_url(cart.text), data={"qty-mug": "1"})
    assert old_cart.status_code == 410 and "This step was already completed" in old_cart.text


def test_inspect_reads_a_running_servers_step_by_its_url_from_another_folder(
    tmp_path: Path, serve: Callable[..., Server]  # noqa: F811
) -> None:
    app = example(tmp_path)
    server = serve(app)  # with the e2e secret key, passed to inspect below
    second = server.post(k_url(server.get("/add").text), data={"n": "12"})
    url = server.base + k_url(second.text)
    p = subprocess.run(
        [sys.executable, "-m", "tmweb.cli", "inspect", url, "--root", str(app), "--secret-key", KEY],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert p.returncode == 0, p.stderr
    assert "add.ask-number" in p.stdout and 'label = "Second number"' in p.stdout
    assert "a = 12" in p.stdout
