"""Continuation tokens: signed ids whose age is read from an injectable clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tmweb.web.tokens import TokenData, TokenExpired, TokenInvalid, Tokens

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


def test_a_token_is_what_itsdangerous_makes_and_reads(clock: FakeClock) -> None:
    """SPEC 2.3: the token is itsdangerous-signed. tmweb makes and checks it itself (for
    speed), so both directions are checked against itsdangerous, with rotated keys."""
    from itsdangerous import URLSafeTimedSerializer

    ours = Tokens(["new", "old"], clock=clock)
    theirs = URLSafeTimedSerializer(["old", "new"], salt="tmweb.continuation")  # last signs
    token, signed = ours.new(60, True, "ab" * 16, "/shop/é", "cd" * 16)
    payload, stamp = theirs.loads(token, return_timestamp=True)
    assert payload == [signed.key, 1, 60, "ab" * 16, "/shop/é", "cd" * 16]
    assert int(stamp.timestamp()) == int(clock())
    plain = theirs.dumps(["ef" * 16, 0, 30])
    assert ours.check(plain) == TokenData("ef" * 16, False, 30)
    compressed = theirs.dumps(["ab" * 16, 0, 30, "f" * 32, "/" + "a" * 200, "s" * 32])
    assert compressed.startswith(".")  # itsdangerous compresses a long payload
    assert ours.check(compressed).start == "/" + "a" * 200


def test_tokens_with_flow_and_session_made_by_itsdangerous_are_accepted(clock: FakeClock) -> None:
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


def test_a_token_signed_for_another_use_is_invalid() -> None:
    from itsdangerous import URLSafeTimedSerializer

    other = URLSafeTimedSerializer(["k"], salt="tmweb.session").dumps(["ab" * 16, 0, 60])
    with pytest.raises(TokenInvalid):
        Tokens(["k"]).check(other)


def test_a_keyed_hmac_function_is_hmac() -> None:
    import hmac

    from tmweb.web.signing import hmac_function

    for digest in ("sha1", "sha256"):
        mac = hmac_function(b"key", digest)
        for msg in (b"", b"x", b"y" * 5000):
            assert mac(msg) == hmac.digest(b"key", msg, digest)
