"""End-to-end tests of every demo in example_app/, through Starlette's TestClient.

Each test runs a fresh copy of example_app/ in `tmp_path` (without its `.tmweb` state), so
the repository's folder gets no store or secret key. Like a browser, the tests read form
actions and links from the pages the app answers with and follow them; a back button is a
request to a URL read from an older page.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from tmweb.lang.builtins.registry import REGISTRY
from tmweb.web.app import App

EXAMPLE_APP = Path(__file__).resolve().parents[2] / "example_app"
DEMOS = {
    "/add": "Add two numbers",
    "/checkout": "Checkout",
    "/counter": "Counter",
    "/signup": "Sign-up wizard",
}
#: Demos whose first page is no continuation (the order workflow runs in the background).
OTHER_DEMOS = {"/orders": "Order workflow"}


# -- reading pages -------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    invalid: list[str] = field(default_factory=list)  # inputs marked aria-invalid
    buttons: list[tuple[str | None, str | None]] = field(default_factory=list)


class PageParser(HTMLParser):
    """The forms (with their inputs) and the links of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.links: list[tuple[str, str]] = []  # (href, text)
        self.stylesheets: list[str] = []
        self._form: Form | None = None
        self._link: list[str] | None = None
        self._href = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").lower())
            self.forms.append(self._form)
        elif tag == "input" and self._form is not None and "name" in a:
            self._form.fields[a["name"]] = a.get("value", "")
            if a.get("aria-invalid") == "true":
                self._form.invalid.append(a["name"])
        elif tag == "button" and self._form is not None:
            self._form.buttons.append((a.get("name"), a.get("value")))
        elif tag == "a" and "href" in a:
            self._href, self._link = a["href"], []
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "a" and self._link is not None:
            self.links.append((self._href, " ".join("".join(self._link).split())))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._link is not None:
            self._link.append(data)


def parse(html: str) -> PageParser:
    p = PageParser()
    p.feed(html)
    p.close()
    return p


def the_form(r: httpx.Response) -> Form:
    """The one form of a page: its action is a continuation URL to POST to."""
    assert r.status_code == 200, r.text
    forms = parse(r.text).forms
    assert len(forms) == 1, f"expected one form:\n{r.text}"
    form = forms[0]
    assert form.method == "post"
    assert "/k/" in form.action, form.action
    return form


def link(r: httpx.Response, text: str) -> str:
    """The href of the link whose text is `text`."""
    hrefs = [href for href, t in parse(r.text).links if t == text]
    assert len(hrefs) == 1, f"expected one link {text!r}:\n{r.text}"
    return hrefs[0]


def error_of(r: httpx.Response) -> str | None:
    m = re.search(r'<p class="error" role="alert">(.*?)</p>', r.text, re.S)
    return m.group(1) if m else None


def text(r: httpx.Response) -> str:
    """The page's text with tags dropped and whitespace collapsed (entities are kept)."""
    return " ".join(re.sub(r"<[^>]+>", " ", r.text).split())


def heading(r: httpx.Response) -> str:
    m = re.search(r"<h1>(.*?)</h1>", r.text, re.S)
    assert m, r.text
    return " ".join(re.sub(r"<[^>]+>", " ", m.group(1)).split())


def assert_expired(r: httpx.Response) -> None:
    assert r.status_code == 410, r.text
    assert "This page has expired" in r.text or "This step was already completed" in r.text


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def charges(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One entry per call of `charge!` in checkout.tm.

    `charge!` is a stand-in that returns a receipt whose id is made from
    `(current-time-ms)`, which nothing else in the example app calls. A fake clock that
    moves one millisecond per call makes every charge's order id distinct (TM-500001,
    TM-500002...) and counts the charges. Compiled code holds the built-in's function, so
    this is in place before any App loads the example (`app_dir` depends on it).
    """
    calls: list[int] = []

    def clock() -> int:
        calls.append(1)
        return 1_700_000_500_000 + len(calls)

    monkeypatch.setattr(REGISTRY["current-time-ms"], "fn", clock)
    return calls


@pytest.fixture
def app_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, charges: list[int]) -> Path:
    """A copy of example_app/ that uses its own embedded store and a dev secret key."""
    for name in ("TMWEB_STORE", "TMWEB_SECRET_KEY", "TMWEB_ENV", "TMWEB_IMPORTS"):
        monkeypatch.delenv(name, raising=False)
    copy = tmp_path / "example_app"
    shutil.copytree(EXAMPLE_APP, copy, ignore=shutil.ignore_patterns(".tmweb"))
    return copy


@pytest.fixture
def client(app_dir: Path) -> TestClient:
    # a POST that reaches the next step is answered with a 303 to it (Post/Redirect/Get),
    # which the client follows like a browser; the tests that look at the payment's own
    # 303 (to the confirmation) ask not to follow it
    return TestClient(App(str(app_dir), debug=True), follow_redirects=True)


# -- the index page ------------------------------------------------------------------------


def test_the_index_lists_and_links_every_demo(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200, r.text
    assert heading(r) == "tmweb examples"
    links = parse(r.text).links
    for path, title in {**DEMOS, **OTHER_DEMOS}.items():
        assert (path, title) in links
        assert f"<code>{path}</code>" in r.text


def test_every_link_and_the_stylesheet_of_the_index_work(client: TestClient) -> None:
    r = client.get("/")
    page = parse(r.text)
    hrefs = {href for href, _ in page.links} | set(page.stylesheets)
    assert hrefs == {"/", *DEMOS, *OTHER_DEMOS, "/static/style.css"}
    for href in sorted(hrefs):
        got = client.get(href)
        assert got.status_code == 200, (href, got.text)
    assert client.get("/static/style.css").headers["content-type"].startswith("text/css")


@pytest.mark.parametrize("path", list(DEMOS))
def test_each_demo_starts_with_a_page_pointing_at_a_continuation(
    client: TestClient, path: str
) -> None:
    r = client.get(path)
    assert r.status_code == 200, r.text
    assert 'aria-current="page"' in r.text  # the nav marks the demo
    page = parse(r.text)
    urls = [f.action for f in page.forms] + [h for h, _ in page.links if "/k/" in h]
    assert urls and all(u.startswith("/k/") for u in urls), urls


# -- add two numbers -----------------------------------------------------------------------


ASK_BLANK = "Please enter a whole number, like 42."
ASK_DIGITS = "Please enter a whole number, like 42, with the digits 0-9 only (and a + or - in front if you need one)."


def post_number(client: TestClient, form: Form, n: str) -> httpx.Response:
    r = client.post(form.action, data={"n": n})
    assert r.status_code == 200, r.text
    return r


def sum_line(r: httpx.Response) -> str:
    m = re.search(r'<p class="result">(.*?)</p>', r.text, re.S)
    assert m, r.text
    return m.group(1)


def test_add_asks_two_numbers_and_shows_the_sum(client: TestClient) -> None:
    first = client.get("/add")
    assert "First number" in first.text
    assert the_form(first).fields == {"n": ""}
    second = post_number(client, the_form(first), "3")
    assert "Second number" in second.text
    assert error_of(second) is None
    done = post_number(client, the_form(second), "4")
    assert sum_line(done) == "3 + 4 = <strong>7</strong>"
    assert link(done, "Add two more") == "/add"
    # negative numbers and spaces around the number are fine
    second = post_number(client, the_form(client.get("/add")), " -5 ")
    assert sum_line(post_number(client, the_form(second), "2")) == "-5 + 2 = <strong>-3</strong>"


@pytest.mark.parametrize("bad", ["", "abc", "1.5", "4 2"])
def test_add_re_asks_with_the_error_and_keeps_the_input(client: TestClient, bad: str) -> None:
    first = client.get("/add")
    again = post_number(client, the_form(first), bad)
    assert "First number" in again.text
    assert error_of(again) == (ASK_BLANK if bad == "" else ASK_DIGITS)
    form = the_form(again)
    assert form.fields == {"n": bad.strip()}
    assert form.action != the_form(first).action  # each re-ask is a new continuation
    second = post_number(client, form, "10")
    assert "Second number" in second.text
    assert error_of(second) is None
    # a bad second number re-asks the second question, keeping the first answer
    again2 = post_number(client, the_form(second), "x")
    assert "Second number" in again2.text
    assert error_of(again2) == ASK_DIGITS
    assert sum_line(post_number(client, the_form(again2), "5")) == "10 + 5 = <strong>15</strong>"


def test_add_back_button_runs_an_old_page_again_with_what_it_captured(
    client: TestClient,
) -> None:
    first = the_form(client.get("/add"))
    second = the_form(post_number(client, first, "3"))
    assert sum_line(post_number(client, second, "4")) == "3 + 4 = <strong>7</strong>"
    # back to the first page, a different first number: the flow continues from there
    second_b = post_number(client, first, "10")
    assert "Second number" in second_b.text
    assert sum_line(post_number(client, the_form(second_b), "4")) == "10 + 4 = <strong>14</strong>"
    # back to the old second page: it still holds a = 3
    assert sum_line(post_number(client, second, "100")) == "3 + 100 = <strong>103</strong>"
    # and every page can be used any number of times
    assert sum_line(post_number(client, second, "4")) == "3 + 4 = <strong>7</strong>"
    assert "Second number" in post_number(client, first, "1").text


# -- checkout ------------------------------------------------------------------------------

CART = {"qty-mug": "2", "qty-tea": "1", "qty-socks": "0", "qty-sticker": ""}  # $32.50
ADDRESS = {
    "name": "Ann Lee",
    "street": "1 Main St",
    "city": "Springfield",
    "postcode": "12345",
    "country": "USA",
}
OTHER_ADDRESS = {
    "name": "Bo Chen",
    "street": "9 Rue Haute",
    "city": "Lyon",
    "postcode": "69001",
    "country": "France",
}
CARD = "4242 4242 4242 4242"


def summary_lines(r: httpx.Response) -> list[str]:
    table = re.search(r'<table class="lines summary">(.*?)</table>', r.text, re.S)
    assert table, r.text
    rows = re.findall(r"<tr><td>(.*?)</td><td class=\"num\">(.*?)</td></tr>", table.group(1))
    total = re.search(r'<tfoot><tr><th>Total</th><th class="num">(.*?)</th>', table.group(1))
    assert total
    return [f"{item} {amount}" for item, amount in rows] + [f"Total {total.group(1)}"]


def order_id(r: httpx.Response) -> str:
    m = re.search(r'<strong class="order-id">(TM-\d{6})</strong>', r.text)
    assert m, r.text
    return m.group(1)


def to_address(client: TestClient, cart: dict[str, str] = CART) -> httpx.Response:
    cart_page = client.get("/checkout")
    r = client.post(the_form(cart_page).action, data=cart)
    assert r.status_code == 200, r.text
    assert "Shipping address" in r.text
    return r


def test_checkout_cart_validation_re_asks_the_cart(client: TestClient) -> None:
    cart = client.get("/checkout")
    assert the_form(cart).fields == {k: "0" for k in CART}
    empty = client.post(the_form(cart).action, data={k: "0" for k in CART})
    assert error_of(empty) == "Your cart is empty: pick at least one item."
    assert "Your cart" in empty.text
    bad = client.post(the_form(empty).action, data={**CART, "qty-socks": "100"})
    assert error_of(bad) == "Quantities are whole numbers from 0 to 99."
    assert the_form(bad).fields == {**CART, "qty-socks": "100", "qty-sticker": "0"}
    neg = client.post(the_form(bad).action, data={**CART, "qty-tea": "-1"})
    assert error_of(neg) == "Quantities are whole numbers from 0 to 99."
    ok = client.post(the_form(neg).action, data=CART)
    assert "Shipping address" in ok.text
    assert "Order total: $32.50" in ok.text


def test_checkout_full_flow_with_validation_and_a_one_shot_payment(
    client: TestClient, charges: list[int]
) -> None:
    address = to_address(client)
    assert "Order total: $32.50" in address.text
    assert the_form(address).fields == {k: "" for k in ADDRESS}
    assert error_of(address) is None

    # an address with missing fields: the same page again, with the error, keeping the input
    partial = {**ADDRESS, "street": "  ", "postcode": ""}
    again = client.post(the_form(address).action, data=partial)
    assert again.status_code == 200, again.text
    assert "Shipping address" in again.text
    assert error_of(again) == "Please fill in: street and number, postcode."
    form = the_form(again)
    assert form.fields == {**ADDRESS, "street": "", "postcode": ""}
    assert sorted(form.invalid) == ["postcode", "street"]

    payment = client.post(form.action, data=ADDRESS)
    assert payment.status_code == 200, payment.text
    assert "<h2>Payment</h2>" in payment.text
    assert summary_lines(payment) == [
        "2 × Turmeric mug $24.00",
        "1 × Golden tea, 100 g $8.50",
        "Total $32.50",
    ]
    assert "Ships to Ann Lee, 1 Main St, 12345 Springfield, USA." in payment.text
    assert "Pay $32.50" in payment.text

    # a bad card: asked again with the error, on a new one-shot URL
    pay1 = the_form(payment)
    bad = client.post(pay1.action, data={"card": "4242 4242"})
    assert bad.status_code == 200, bad.text
    assert error_of(bad) == (
        "A card number is 16 digits (spaces are fine), like 4242 4242 4242 4242."
    )
    assert the_form(bad).invalid == ["card"]
    assert the_form(bad).fields == {"card": ""}  # the card number is not sent back
    pay2 = the_form(bad)
    assert pay2.action != pay1.action
    assert_expired(client.post(pay1.action, data={"card": CARD}))  # used by the bad attempt
    assert charges == []

    # a good card (dashes are fine): Post/Redirect/Get to the confirmation
    paid = client.post(pay2.action, data={"card": "4242-4242-4242-1234"}, follow_redirects=False)
    assert paid.status_code == 303, paid.text
    confirmation_url = paid.headers["location"]
    assert confirmation_url.startswith("/k/")
    assert len(charges) == 1
    done = client.get(confirmation_url)
    assert done.status_code == 200, done.text
    assert heading(done) == "Thank you!"
    oid = order_id(done)
    assert oid == "TM-500001"
    assert f"Order {oid} confirmed" in done.text  # the title
    assert "We charged $32.50 to the card ending in 1234." in text(done)
    assert summary_lines(done) == [
        "2 × Turmeric mug $24.00",
        "1 × Golden tea, 100 g $8.50",
        "Total $32.50",
    ]
    assert "Ann Lee 1 Main St 12345 Springfield USA" in text(done)
    assert link(done, "Start a new order") == "/checkout"

    # the payment page is one-shot: a double submit or a back-button resubmit is 410
    for _ in range(2):
        assert_expired(client.post(pay2.action, data={"card": CARD}))
    assert len(charges) == 1

    # reloading the confirmation shows the same order and does not charge again
    for _ in range(2):
        reload = client.get(confirmation_url)
        assert reload.status_code == 200, reload.text
        assert order_id(reload) == oid
    assert len(charges) == 1


def test_checkout_back_button_to_the_address_gives_a_new_payment_page_until_paid(
    client: TestClient, charges: list[int]
) -> None:
    address = the_form(to_address(client))
    payment = client.post(address.action, data=ADDRESS)
    pay = the_form(payment)

    # before paying: back to the address page, a different address, a new payment page
    payment_b = client.post(address.action, data=OTHER_ADDRESS)
    assert payment_b.status_code == 200, payment_b.text
    assert "<h2>Payment</h2>" in payment_b.text
    assert "Ships to Bo Chen, 9 Rue Haute, 69001 Lyon, France." in payment_b.text
    assert summary_lines(payment_b) == summary_lines(payment)  # the cart it captured
    pay_b = the_form(payment_b)
    assert pay_b.action != pay.action

    paid_b = client.post(pay_b.action, data={"card": CARD}, follow_redirects=False)
    assert paid_b.status_code == 303, paid_b.text
    done_b = client.get(paid_b.headers["location"])
    assert "Bo Chen 9 Rue Haute 69001 Lyon France" in text(done_b)
    assert len(charges) == 1

    # after paying, every earlier page of this checkout is final: no second charge
    for old in (pay.action, pay_b.action, address.action):
        r = client.post(old, data={"card": CARD, **ADDRESS})
        assert r.status_code == 410, r.text
        assert "This step was already completed" in r.text
        assert link(r, "Start again") == "/checkout"
    assert len(charges) == 1
    # the confirmation still reloads
    assert order_id(client.get(paid_b.headers["location"])) == order_id(done_b)


def test_checkout_a_declined_card_asks_again_and_keeps_cart_and_address(
    client: TestClient, charges: list[int]
) -> None:
    payment = client.post(the_form(to_address(client)).action, data=ADDRESS)
    declined = client.post(the_form(payment).action, data={"card": "4000 0000 0000 0002"})
    assert declined.status_code == 200, declined.text
    assert "Your card was declined" in declined.text
    assert summary_lines(declined) == summary_lines(payment)
    assert "Ships to Ann Lee" in declined.text
    paid = client.post(the_form(declined).action, data={"card": CARD}, follow_redirects=False)
    assert paid.status_code == 303
    assert "Ann Lee 1 Main St 12345 Springfield USA" in text(client.get(paid.headers["location"]))


def test_checkout_back_button_to_the_cart_starts_again_from_the_cart(
    client: TestClient, charges: list[int]
) -> None:
    cart = the_form(client.get("/checkout"))
    address = client.post(cart.action, data=CART)
    client.post(the_form(address).action, data=ADDRESS)
    other = client.post(cart.action, data={"qty-socks": "3", "qty-sticker": "1"})
    assert "Order total: $47.00" in other.text
    payment = client.post(the_form(other).action, data=ADDRESS)
    assert summary_lines(payment) == [
        "3 × Continuation socks $45.00",
        "1 × Lambda sticker $2.00",
        "Total $47.00",
    ]
    paid = client.post(the_form(payment).action, data={"card": CARD}, follow_redirects=False)
    assert paid.status_code == 303
    assert "We charged $47.00 to the card ending in 4242." in text(
        client.get(paid.headers["location"])
    )
    assert len(charges) == 1


# -- counter -------------------------------------------------------------------------------


@dataclass
class CounterPage:
    count: int
    minus: str
    plus: str
    reset: str


def counter(r: httpx.Response, prefix: str = "") -> CounterPage:
    """The count a counter page shows and its three links (continuation URLs)."""
    assert r.status_code == 200, r.text
    m = re.search(r'<p class="count" aria-live="polite">(-?\d+)</p>', r.text)
    assert m, r.text
    page = CounterPage(int(m.group(1)), link(r, "-1"), link(r, "+1"), link(r, "Reset"))
    assert f"<title>Counter: {page.count} · tmweb</title>" in r.text
    for url in (page.minus, page.plus, page.reset):
        assert url.startswith(prefix + "/k/"), url
    return page


def test_counter_plus_plus_minus(client: TestClient) -> None:
    p0 = counter(client.get("/counter"))
    assert p0.count == 0
    assert len({p0.minus, p0.plus, p0.reset}) == 3
    p1 = counter(client.get(p0.plus))
    assert p1.count == 1
    p2 = counter(client.get(p1.plus))
    assert p2.count == 2
    p3 = counter(client.get(p2.minus))
    assert p3.count == 1
    assert counter(client.get(p3.reset)).count == 0
    assert counter(client.get(p0.minus)).count == -1


def test_counter_back_button_continues_from_the_older_count(client: TestClient) -> None:
    pages = [counter(client.get("/counter"))]
    for _ in range(4):
        pages.append(counter(client.get(pages[-1].plus)))
    assert [p.count for p in pages] == [0, 1, 2, 3, 4]
    # back to the page that showed 1: its +1 gives 2, and we carry on from there
    back = counter(client.get(pages[1].plus))
    assert back.count == 2
    assert counter(client.get(back.plus)).count == 3
    assert counter(client.get(back.minus)).count == 1
    # links work any number of times, also as POST, and ignore their query data
    assert counter(client.get(pages[3].plus, params={"n": "99"})).count == 4
    assert counter(client.post(pages[3].plus)).count == 4
    assert counter(client.get(pages[4].reset)).count == 0
    assert counter(client.get(pages[2].minus)).count == 1


# -- sign-up wizard ------------------------------------------------------------------------


def step_of(r: httpx.Response) -> str:
    m = re.search(r'<li class="current" aria-current="step">(\w+)</li>', r.text)
    assert m, r.text
    return m.group(1)


def answer(client: TestClient, r: httpx.Response, **data: str) -> httpx.Response:
    got = client.post(the_form(r).action, data=data)
    assert got.status_code == 200, got.text
    return got


def review_items(r: httpx.Response) -> dict[str, str]:
    return dict(re.findall(r"<dt>(\w+)</dt><dd>(.*?)</dd>", r.text))


def confirm_by_mail(client: TestClient, check: httpx.Response) -> tuple[TestClient, httpx.Response]:
    """Follow the e-mailed link from another browser (a phone): it is the one shareable page."""
    assert heading(check) == "Check your e-mail"
    assert link(check, "outbox") == "/outbox"
    phone = TestClient(client.app, follow_redirects=True)
    mail = client.get("/outbox")
    url = link(mail, "Confirm my e-mail address")
    assert url.startswith("/k/")
    preview = phone.get(url)  # a mail app's link preview: nothing happens yet
    assert "Continue?" in preview.text
    done = phone.get(url, headers={"sec-fetch-user": "?1"})
    assert phone.get(url, headers={"sec-fetch-user": "?1"}).status_code == 410  # once
    return phone, done


def test_signup_re_asks_each_step_with_its_error_then_welcomes(client: TestClient) -> None:
    name = client.get("/signup")
    assert step_of(name) == "Name"
    assert "What is your name?" in name.text
    assert the_form(name).fields == {"name": ""}

    r = answer(client, name, name="   ")
    assert step_of(r) == "Name"
    assert error_of(r) == "Please tell us your name."
    assert the_form(r).invalid == ["name"]
    r = answer(client, r, name=" Ann ")

    assert step_of(r) == "Email"
    assert "Your email address" in r.text
    assert error_of(r) is None
    for bad in ("ann.example.com", "ann@example", ""):
        r = answer(client, r, email=bad)
        assert step_of(r) == "Email"
        assert error_of(r) == "An email address needs an @ and a dot, like ann@example.com."
        assert the_form(r).fields == {"email": bad}  # kept for the user to fix
    r = answer(client, r, email="ann@example.com")

    assert step_of(r) == "Password"
    assert 'type="password"' in r.text
    r = answer(client, r, password="short")
    assert step_of(r) == "Password"
    assert error_of(r) == "Use at least 8 characters (that was 5)."
    assert the_form(r).fields == {"password": ""}  # never sent back
    assert "short" not in r.text
    r = answer(client, r, password=" secret pw ")  # kept exactly as typed: 11 characters

    assert step_of(r) == "Review"
    assert review_items(r) == {"Name": "Ann", "Email": "ann@example.com", "Password": "•" * 11}
    assert "secret pw" not in r.text
    assert the_form(r).buttons == [("confirm", "yes")]
    assert link(r, "Start over") == "/signup"

    # a POST without the Confirm button shows the review again
    r = answer(client, r)
    assert step_of(r) == "Review"
    assert error_of(r) == "Press Confirm to create the account."
    assert review_items(r)["Email"] == "ann@example.com"

    _, done = confirm_by_mail(client, answer(client, r, confirm="yes"))
    assert heading(done) == "Welcome, Ann!"
    assert "We will write to <strong>ann@example.com</strong>." in done.text
    assert link(done, "Back to the examples") == "/"


def test_signup_back_button_on_the_email_step_changes_the_email(client: TestClient) -> None:
    email = answer(client, client.get("/signup"), name="Ann")
    password = answer(client, email, email="ann@example.com")
    review = answer(client, password, password="password1")

    # back to the email step, a different email: the review shows it, the name is kept
    password_b = answer(client, email, email="bob@example.org")
    assert step_of(password_b) == "Password"
    review_b = answer(client, password_b, password="password2")
    assert review_items(review_b) == {
        "Name": "Ann",
        "Email": "bob@example.org",
        "Password": "•" * 9,
    }
    # the old review page still holds the old email (a GET shows it again)
    assert review_items(client.get(the_form(review).action))["Email"] == "ann@example.com"

    phone, done = confirm_by_mail(client, answer(client, review_b, confirm="yes"))
    assert heading(done) == "Welcome, Ann!"
    assert "<strong>bob@example.org</strong>" in done.text
    # reloading the done page shows it again, in the browser that got there
    assert heading(phone.get(str(done.url))) == "Welcome, Ann!"
    assert client.get(str(done.url)).status_code == 403  # bound to that browser

    # one account per sign-up: confirming an earlier page again is refused
    for page in (review, review_b):
        r = client.post(the_form(page).action, data={"confirm": "yes"})
        assert r.status_code == 410, r.text
        assert "This step was already completed" in r.text
        assert link(r, "Start again") == "/signup"


# -- mounted under a prefix ----------------------------------------------------------------


@pytest.fixture
def shop(app_dir: Path) -> TestClient:
    outer = Starlette(routes=[Mount("/shop", app=App(str(app_dir), debug=True))])
    return TestClient(outer, follow_redirects=True)


def test_mounted_the_index_links_carry_the_prefix(shop: TestClient) -> None:
    r = shop.get("/shop/")
    assert r.status_code == 200, r.text
    page = parse(r.text)
    for path, title in DEMOS.items():
        assert (f"/shop{path}", title) in page.links
    hrefs = {href for href, _ in page.links} | set(page.stylesheets)
    assert hrefs == {"/shop/", *(f"/shop{p}" for p in [*DEMOS, *OTHER_DEMOS]), "/shop/static/style.css"}
    for href in sorted(hrefs):
        assert shop.get(href).status_code == 200, href


def all_urls(r: httpx.Response) -> list[str]:
    page = parse(r.text)
    return [f.action for f in page.forms] + [h for h, _ in page.links] + page.stylesheets


def test_mounted_the_add_flow_works_and_every_url_carries_the_prefix(shop: TestClient) -> None:
    first = shop.get("/shop/add")
    pages = [first]
    second = post_number(shop, the_form(first), "3")
    pages.append(second)
    bad = post_number(shop, the_form(second), "x")
    assert error_of(bad) == ASK_DIGITS
    pages.append(bad)
    done = post_number(shop, the_form(bad), "4")
    pages.append(done)
    assert sum_line(done) == "3 + 4 = <strong>7</strong>"
    assert link(done, "Add two more") == "/shop/add"
    for r in pages[:-1]:
        assert the_form(r).action.startswith("/shop/k/")
    for r in pages:
        for url in all_urls(r):
            assert url.startswith("/shop/"), url
    # the back button works through the mount too
    assert sum_line(post_number(shop, the_form(second), "5")) == "3 + 5 = <strong>8</strong>"


@pytest.mark.parametrize(
    ("path", "continuation_urls"),
    [
        ("/shop/checkout", lambda p: [f.action for f in p.forms]),
        ("/shop/signup", lambda p: [f.action for f in p.forms]),
        ("/shop/counter", lambda p: [h for h, t in p.links if t in ("-1", "+1", "Reset")]),
    ],
)
def test_mounted_every_demo_points_its_continuations_under_the_prefix(
    shop: TestClient, path: str, continuation_urls: Callable[[PageParser], list[str]]
) -> None:
    r = shop.get(path)
    assert r.status_code == 200, r.text
    urls = continuation_urls(parse(r.text))
    assert urls and all(u.startswith("/shop/k/") for u in urls), urls
    for url in all_urls(r):
        assert url.startswith("/shop/"), url


def test_mounted_checkout_redirects_to_a_prefixed_confirmation(
    shop: TestClient, charges: list[int]
) -> None:
    cart = shop.get("/shop/checkout")
    address = shop.post(the_form(cart).action, data=CART)
    payment = shop.post(the_form(address).action, data=ADDRESS)
    pay = the_form(payment)
    assert pay.action.startswith("/shop/k/")
    paid = shop.post(pay.action, data={"card": CARD}, follow_redirects=False)
    assert paid.status_code == 303
    assert paid.headers["location"].startswith("/shop/k/")
    done = shop.get(paid.headers["location"])
    assert order_id(done) == "TM-500001"
    assert link(done, "Start a new order") == "/shop/checkout"
    expired = shop.post(pay.action, data={"card": CARD})
    assert_expired(expired)
    assert 'href="/shop/checkout"' in expired.text  # the start of the flow, under the prefix
    assert len(charges) == 1


def test_mounted_counter_links_follow(shop: TestClient) -> None:
    p0 = counter(shop.get("/shop/counter"), "/shop")
    p1 = counter(shop.get(p0.plus), "/shop")
    assert (p0.count, p1.count) == (0, 1)
    assert counter(shop.get(p1.plus), "/shop").count == 2
    assert counter(shop.get(p0.minus), "/shop").count == -1
