"""Continuation tokens: signed ids whose age is read from an injectable clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tmweb.web.tokens import TokenExpired, TokenInvalid, Tokens

if TYPE_CHECKING:
    from tests.conftest import FakeClock


def test_a_token_carries_its_id_one_shot_flag_and_ttl() -> None:
    tokens = Tokens(["k"])
    token, signed = tokens.new(60, True)
    assert tokens.check(token) == signed
    assert (signed.once, signed.ttl, len(signed.key)) == (True, 60, 32)


def test_a_token_lives_for_its_ttl_in_whole_seconds_of_the_clock(clock: FakeClock) -> None:
    tokens = Tokens(["k"], clock=clock)
    token, _ = tokens.new(3, False)
    clock.advance(3.9)  # 3 whole seconds old: still valid
    tokens.check(token)
    clock.advance(0.1)
    with pytest.raises(TokenExpired, match="valid for 3 s"):
        tokens.check(token)


def test_a_token_signed_in_the_future_is_expired(clock: FakeClock) -> None:
    tokens = Tokens(["k"], clock=clock)
    token, _ = tokens.new(60, False)
    clock.advance(-5)
    with pytest.raises(TokenExpired):
        tokens.check(token)


def test_the_first_key_signs_and_every_listed_key_is_accepted() -> None:
    old_token, _ = Tokens(["old"]).new(60, False)
    rotated = Tokens(["new", "old"])
    rotated.check(old_token)
    new_token, _ = rotated.new(60, False)
    with pytest.raises(TokenInvalid):
        Tokens(["old"]).check(new_token)
    Tokens(["new"]).check(new_token)


def test_a_token_is_the_same_text_as_before_the_clock_was_injectable() -> None:
    """Tokens already handed out keep working: the clock changes nothing in the format."""
    from itsdangerous import URLSafeTimedSerializer

    plain = URLSafeTimedSerializer(["k"], salt="tmweb.continuation").dumps(["ab" * 16, 1, 60])
    assert Tokens(["k"]).check(plain).once is True


def test_at_least_one_key_is_needed() -> None:
    with pytest.raises(ValueError, match="secret key"):
        Tokens([])


def test_a_token_carries_flow_start_and_session_compactly() -> None:
    tokens = Tokens(["k"])
    token, signed = tokens.new(60, False, "ab" * 16, "/shop/checkout", "cd" * 16)
    assert tokens.check(token) == signed
    assert (signed.flow, signed.start, signed.session) == ("ab" * 16, "/shop/checkout", "cd" * 16)
    assert "." not in token and "=" not in token
    assert len(token) < 130  # ids travel as bytes, not hex text


def test_ids_that_are_not_32_hex_digits_travel_as_text() -> None:
    tokens = Tokens(["k"])
    for flow, session in [("f", ""), ("AB" * 16, "x" * 32), ("é-flow", "s")]:
        token, signed = tokens.new(60, True, flow, "", session)
        assert tokens.check(token) == signed


def test_first_format_tokens_with_flow_and_session_are_still_accepted(clock: FakeClock) -> None:
    """Links handed out before the compact format keep working after an upgrade."""
    from itsdangerous import URLSafeTimedSerializer

    old = URLSafeTimedSerializer(["k"], salt="tmweb.continuation")
    plain = old.dumps(["ab" * 16, 0, 60, "f" * 32, "/add", "s" * 32])
    data = Tokens(["k"]).check(plain)
    assert (data.key, data.once, data.ttl, data.flow, data.start, data.session) == (
        "ab" * 16, False, 60, "f" * 32, "/add", "s" * 32,
    )  # fmt: skip
    with pytest.raises(TokenInvalid):
        Tokens(["other"]).check(plain)


@pytest.mark.parametrize("bad", ["", "A", "AAAA", "!!!!", "é", "a" * 200, "ab==", "a+b/"])
def test_garbage_is_invalid_not_an_exception(bad: str) -> None:
    with pytest.raises(TokenInvalid):
        Tokens(["k"]).check(bad)


def test_a_token_mac_does_not_pass_for_another_use() -> None:
    """Keys are derived per use: the same secret's session-cookie MAC is not a token's."""
    from tmweb.web.signing import MacKeys, b64encode

    forged = b64encode(MacKeys(["k"], b"tmweb.session").sign(b"\x02\x97"))
    with pytest.raises(TokenInvalid):
        Tokens(["k"]).check(forged)
