"""The example app in a real Chromium, as a person uses it: typing, clicking, the back
button, reloading, a second tab, a double click, another browser. One `tmweb serve` for the
module (the tests do not share flows: each test has its own browser, so its own session).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from .conftest import TIMEOUT_MS, Server, start_example, used_server

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips, or fails under CI=true, saying why
    expect = None
else:
    expect.set_options(timeout=TIMEOUT_MS)

K_PATH = re.compile(r"/k/[^/?#]+$")


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    server = start_example(tmp_path_factory.mktemp("browser-example"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server(example: Server, request: pytest.FixtureRequest) -> Server:
    return used_server(request, example)


def answer(page: Any, text: str, button: str = "Next") -> None:
    """Type `text` in the page's field and press its button."""
    page.locator("form input:not([type=hidden])").first.fill(text)
    page.get_by_role("button", name=button).click()


def posts_during(page: Any, action: Callable[[], None]) -> list[str]:
    """The methods of the requests the page sent while `action` ran."""
    methods: list[str] = []

    def seen(request: Any) -> None:
        methods.append(request.method)

    page.on("request", seen)
    try:
        action()
    finally:
        page.remove_listener("request", seen)
    return methods


def test_add_two_numbers(page: Any, server: Server) -> None:
    page.goto(server.base + "/")
    page.get_by_role("link", name="Add two numbers").first.click()
    expect(page.get_by_label("First number")).to_be_visible()
    answer(page, "1e5")  # not a whole number: asked again, with what was typed
    expect(page.locator(".error")).to_contain_text("digits 0-9 only")
    expect(page.get_by_label("First number")).to_have_value("1e5")
    answer(page, "3")
    expect(page.get_by_label("Second number")).to_be_visible()
    assert K_PATH.search(page.url), page.url  # the address bar names the step (303)
    answer(page, "4")
    expect(page.locator(".result")).to_have_text("3 + 4 = 7")


def test_the_back_button_and_resubmitting_an_older_step(page: Any, server: Server) -> None:
    page.goto(server.base + "/add")
    answer(page, "3")
    answer(page, "4")
    expect(page.locator(".result")).to_have_text("3 + 4 = 7")
    page.go_back()  # to the second question: submitting it again runs that step again
    expect(page.get_by_label("Second number")).to_be_visible()
    answer(page, "10")
    expect(page.locator(".result")).to_have_text("3 + 10 = 13")
    page.go_back()
    page.go_back()  # to the first question
    expect(page.get_by_label("First number")).to_be_visible()
    answer(page, "5")
    answer(page, "4")
    expect(page.locator(".result")).to_have_text("5 + 4 = 9")


def test_reload_after_a_post_shows_the_page_without_resubmitting(page: Any, server: Server) -> None:
    page.goto(server.base + "/add")
    answer(page, "3")
    expect(page.get_by_label("Second number")).to_be_visible()
    methods = posts_during(page, page.reload)  # a question the POST led to
    assert methods and "POST" not in methods, methods
    expect(page.get_by_label("Second number")).to_be_visible()

    answer(page, "4")
    expect(page.locator(".result")).to_have_text("3 + 4 = 7")
    url = page.url
    assert K_PATH.search(url), url  # the sum has a GET URL of its own
    for _ in range(2):  # the page the flow ends with: shown again, nothing posted
        methods = posts_during(page, page.reload)
        assert methods and "POST" not in methods, methods
        expect(page.locator(".result")).to_have_text("3 + 4 = 7")
    assert page.url == url
    kind = page.evaluate("performance.getEntriesByType('navigation')[0].type")
    assert kind == "reload"


def test_the_address_bar_url_in_a_second_tab(new_browser: Callable[[], Any], server: Server) -> None:
    browser = new_browser()
    first = browser.new_page()
    first.goto(server.base + "/add")
    answer(first, "3")
    expect(first.get_by_label("Second number")).to_be_visible()
    second = browser.new_page()
    second.goto(first.url)  # the address bar's URL, pasted in a new tab: the same question
    expect(second.get_by_label("Second number")).to_be_visible()
    answer(second, "5")
    answer(first, "4")  # the tabs go on independently
    expect(second.locator(".result")).to_have_text("3 + 5 = 8")
    expect(first.locator(".result")).to_have_text("3 + 4 = 7")
    third = browser.new_page()
    third.goto(first.url)  # the sum's URL too
    expect(third.locator(".result")).to_have_text("3 + 4 = 7")

    stranger = new_browser().new_page()  # someone else's browser gets the 403 page
    stranger.goto(first.url)
    expect(stranger.locator("h1")).to_contain_text("another browser session")
    expect(stranger.locator(".result")).to_have_count(0)


def refused_after_going_back(page: Any, button: str, fill: Callable[[], None] = lambda: None) -> None:
    """Go back to a step of a flow that is over and submit it again: "already completed".
    The back button shows the step's page from the browser's cache and its submission gets
    that page, or (without a cached copy) the GET of the step's URL already gets it."""
    page.go_back()
    completed = page.locator("h1").filter(has_text="This step was already completed")
    form = page.get_by_role("button", name=button)
    expect(form.or_(completed)).to_be_visible()
    if form.is_visible():
        fill()
        form.click()
    expect(completed).to_be_visible()


def _charges(server: Server) -> list[str]:
    return re.findall(r"charged \S+ to the card ending in \d+: order (TM-\d+)", server.output())


def _fill_cart_and_address(page: Any, server: Server) -> None:
    page.goto(server.base + "/checkout")
    page.locator("#qty-mug").fill("2")
    page.get_by_role("button", name="Continue to address").click()
    for field, value in [("name", "Ann Lee"), ("street", "1 Main St"), ("city", "Utrecht"),
                         ("postcode", "3511"), ("country", "Netherlands")]:  # fmt: skip
        page.locator("#" + field).fill(value)
    page.get_by_role("button", name="Continue to payment").click()
    expect(page.get_by_role("button", name="Pay $24.00")).to_be_visible()


def test_a_double_click_on_pay_charges_once(page: Any, server: Server) -> None:
    _fill_cart_and_address(page, server)
    page.locator("#card").fill("4242 4242 4242 4242")
    before = len(_charges(server))
    # a double click on a slow connection: the second click lands while the first POST is
    # still on its way, so the browser sends both (a fast double click Chromium sends once)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 400, "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip
    box = page.get_by_role("button", name="Pay $24.00").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    heading = page.locator("h1")

    def double_click() -> None:
        page.mouse.click(x, y)
        page.wait_for_timeout(150)
        page.mouse.click(x, y)
        # the browser shows the answer to the second click: the confirmation if it was the
        # one charged, else the page that says the step was already completed
        expect(heading).to_have_text(re.compile("Thank you!|This step was already completed"))

    posted = posts_during(page, double_click)
    assert posted.count("POST") == 2, posted
    deadline = time.monotonic() + 5
    while len(_charges(server)) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)  # room for a second charge to show in the log, were there one
    charged = _charges(server)[before:]
    assert len(charged) == 1, charged
    cdp.send("Network.emulateNetworkConditions",
             {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1})  # fmt: skip

    # back to the payment page and pay again: already completed, still one charge
    if "Thank you" in heading.inner_text():
        expect(page.locator(".order-id")).to_have_text(charged[0])
        refused_after_going_back(
            page, "Pay $24.00", lambda: page.locator("#card").fill("4242 4242 4242 4242")
        )
    assert _charges(server)[before:] == charged
    page.get_by_role("link", name="Start again").click()
    expect(page.locator("#qty-mug")).to_be_visible()


def test_the_checkout_confirmation_reloads_and_a_declined_card_asks_again(page: Any, server: Server) -> None:
    _fill_cart_and_address(page, server)
    page.locator("#card").fill("4000 0000 0000 0002")
    page.get_by_role("button", name="Pay $24.00").click()
    expect(page.locator(".error")).to_contain_text("declined")
    page.locator("#card").fill("4242-4242-4242-4242")
    page.get_by_role("button", name="Pay $24.00").click()
    expect(page.locator("h1")).to_have_text("Thank you!")
    order = page.locator(".order-id").inner_text()
    methods = posts_during(page, page.reload)
    assert "POST" not in methods, methods
    expect(page.locator(".order-id")).to_have_text(order)


def test_the_counter_in_two_tabs(new_browser: Callable[[], Any], server: Server) -> None:
    browser = new_browser()
    first = browser.new_page()
    first.goto(server.base + "/counter")
    count = first.locator(".count")
    expect(count).to_have_text("0")
    for n in ("1", "2"):
        first.get_by_role("link", name="+1").click()
        expect(count).to_have_text(n)
    second = browser.new_page()
    second.goto(first.url)  # the same count, in a tab of its own
    other = second.locator(".count")
    expect(other).to_have_text("2")
    second.get_by_role("link", name="+1").click()
    expect(other).to_have_text("3")
    first.get_by_role("link", name="-1").click()  # the first tab carries on from 2
    expect(count).to_have_text("1")
    second.go_back()  # back to 2 in the second tab, and on from there
    expect(other).to_have_text("2")
    second.get_by_role("link", name="+1").click()
    expect(other).to_have_text("3")
    second.get_by_role("link", name="Reset").click()
    expect(other).to_have_text("0")
    expect(count).to_have_text("1")  # untouched


def test_the_signup_wizard_end_to_end(new_browser: Callable[[], Any], server: Server) -> None:
    page = new_browser().new_page()
    page.goto(server.base + "/signup")
    answer(page, "Ann Lee")
    expect(page.get_by_label("Your email address")).to_be_visible()
    answer(page, "ann-at-example")
    expect(page.locator(".error")).to_contain_text("needs an @ and a dot")
    expect(page.get_by_label("Your email address")).to_have_value("ann-at-example")
    answer(page, "ann@example.com")
    answer(page, "short")
    expect(page.locator(".error")).to_contain_text("at least 8 characters")
    expect(page.get_by_label("Choose a password")).to_have_value("")  # never sent back
    answer(page, "correct horse")
    review = page.locator("dl.review")
    expect(review).to_contain_text("Ann Lee")
    expect(review).to_contain_text("ann@example.com")
    expect(review).to_contain_text("•" * len("correct horse"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("h1")).to_have_text("Check your e-mail")

    # the mail, read in the local outbox; its link works in any browser (a phone), once
    page.get_by_role("link", name="outbox").click()
    mail = page.locator(".mail").filter(has_text="ann@example.com")
    expect(mail).to_contain_text("Confirm your e-mail, Ann Lee")
    link = mail.get_by_role("link", name="Confirm my e-mail address").get_attribute("href")
    phone = new_browser().new_page()
    phone.goto(server.base + "/outbox")
    phone.locator(".mail").filter(has_text="ann@example.com").get_by_role(
        "link", name="Confirm my e-mail address"
    ).click()
    expect(phone.locator("h1")).to_have_text("Welcome, Ann Lee!")
    methods = posts_during(phone, phone.reload)  # the done page has its own GET URL
    assert "POST" not in methods, methods
    expect(phone.locator("h1")).to_have_text("Welcome, Ann Lee!")
    phone.goto(server.base + link)  # the link again: used up
    expect(phone.locator("h1")).to_contain_text("410")

    # back in the first browser: the wizard is over, one account per sign-up
    page.go_back()  # the "check your e-mail" page, then the review: confirming is over
    refused_after_going_back(page, "Confirm")

