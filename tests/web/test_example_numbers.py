"""The example app's number fields: text fields with `inputmode="numeric"`, read by the
strict `forms.parse-int` of example_app/lib/forms.tm (ASCII digits with an optional sign),
with a clear message otherwise and what the user typed shown back in the field."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tmweb.lang.modules import default_roots
from tmweb.lang.runtime import Runtime

from .test_example_app import (  # noqa: F401  (app_dir, charges and client are fixtures)
    ASK_BLANK,
    ASK_DIGITS,
    CART,
    EXAMPLE_APP,
    app_dir,
    charges,
    client,
    error_of,
    post_number,
    sum_line,
    the_form,
)


@pytest.fixture(scope="module")
def forms() -> Runtime:
    """A runtime with the example's lib.forms loaded (no web functions needed to parse)."""
    rt = Runtime(roots=default_roots(str(EXAMPLE_APP)))
    rt.exec_text("(import lib.forms :as forms)", rt.module("user"), "<test>")
    return rt


def call(rt: Runtime, fn: str, arg: str) -> object:
    rt.module("user").define("arg", arg)
    return rt.exec_text(f"({fn} arg)", rt.module("user"), "<test>")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("42", 42), ("-7", -7), ("+3", 3), ("0", 0), ("007", 7),
        ("123456789012345678901234567890", 123456789012345678901234567890),
        # Python's int takes these; a form field must not
        ("1_000", None), ("١٢", None), ("１２", None), ("1e5", None), ("1.5", None),
        (" 42 ", None), ("4 2", None), ("", None), ("-", None), ("+-1", None), ("--1", None),
        ("0x10", None), ("abc", None), ("12abc", None),
    ],
)
def test_parse_int_takes_ascii_digits_with_an_optional_sign_only(
    forms: Runtime, text: str, value: int | None
) -> None:
    assert call(forms, "forms.parse-int", text) == value
    problem = call(forms, "forms.int-problem", text)
    if value is not None:
        assert problem is None
    else:
        assert problem == (ASK_BLANK if text.strip() == "" else ASK_DIGITS)


def test_the_built_in_int_is_the_lenient_one(forms: Runtime) -> None:
    # why the example has its own parser: `int` parses what Python's int does
    assert call(forms, "int", "1_000") == 1000
    assert call(forms, "int", "١٢") == 12


def test_the_add_page_is_a_numeric_text_field(client: TestClient) -> None:  # noqa: F811
    page = client.get("/add").text
    field = re.search(r"<input[^>]*name=\"n\"[^>]*>", page)
    assert field, page
    assert 'type="text"' in field.group(0) and 'inputmode="numeric"' in field.group(0)
    assert 'type="number"' not in page


@pytest.mark.parametrize("typed", ["1_000", "١٢", "1e5", "1.5", "<b>9</b>"])
def test_add_refuses_what_is_not_ascii_digits_and_shows_back_what_was_typed(
    client: TestClient, typed: str  # noqa: F811
) -> None:
    again = post_number(client, the_form(client.get("/add")), typed)
    assert "First number" in again.text
    assert error_of(again) == ASK_DIGITS
    assert the_form(again).fields == {"n": typed}  # as typed, escaped in the HTML
    assert 'aria-invalid="true"' in again.text
    assert "<b>9</b>" not in again.text


def test_add_takes_signs_and_spaces_around_the_number_and_shows_them_back(client: TestClient) -> None:  # noqa: F811
    second = post_number(client, the_form(client.get("/add")), " 42 ")
    assert "Second number" in second.text and error_of(second) is None
    assert sum_line(post_number(client, the_form(second), "-7")) == "42 + -7 = <strong>35</strong>"
    second = post_number(client, the_form(client.get("/add")), "+3")
    bad = post_number(client, the_form(second), " 1_000 ")
    assert the_form(bad).fields == {"n": " 1_000 "}  # exactly what was typed, spaces too
    assert sum_line(post_number(client, the_form(bad), "-0")) == "3 + 0 = <strong>3</strong>"


@pytest.mark.parametrize("typed", ["1_0", "١", "1e1", "+", "0x1"])
def test_the_cart_refuses_non_ascii_quantities_and_shows_back_what_was_typed(
    client: TestClient, typed: str  # noqa: F811
) -> None:
    cart = client.get("/checkout")
    assert 'type="number"' not in cart.text and cart.text.count('inputmode="numeric"') == 4
    bad = client.post(the_form(cart).action, data={**CART, "qty-mug": typed})
    assert error_of(bad) == "Quantities are whole numbers from 0 to 99."
    assert the_form(bad).fields["qty-mug"] == typed
    ok = client.post(the_form(bad).action, data={**CART, "qty-mug": " +2 "})
    assert "Shipping address" in ok.text and "$32.50" in ok.text
