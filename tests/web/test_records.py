"""The stored-record format (records.py): authenticated with the app's keys over the id,
the metadata and the blob."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tmweb.web.records import MAGIC, RecordExpired, RecordMeta, RecordTampered, seal, unseal

META = RecordMeta("a" * 32, "f" * 32, "s" * 32, True, 1000)
KEYS = ["new-key", "old-key"]


def test_a_sealed_record_opens_to_its_blob() -> None:
    data = seal(KEYS, META, b"blob")
    assert data.startswith(MAGIC) and b"blob" in data
    assert unseal(KEYS, data, META, now=999) == b"blob"
    assert unseal(["newer", *KEYS], data, META, now=0) == b"blob"  # rotation: still listed
    assert unseal(["old-key"], seal(["old-key"], META, b""), META, now=0) == b""


@pytest.mark.parametrize(
    "change",
    [
        {"key": "b" * 32},  # copied under another id
        {"flow": None},
        {"flow": "g" * 32},
        {"session": ""},  # made shareable
        {"once": False},  # one-shot turned off
    ],
)
def test_a_record_is_only_the_one_its_token_names(change: dict[str, object]) -> None:
    data = seal(KEYS, META, b"blob")
    other = replace(META, **change)  # type: ignore[arg-type]
    with pytest.raises(RecordTampered, match="not the record"):
        unseal(KEYS, data, other, now=0)


def test_every_changed_byte_is_caught() -> None:
    data = seal(KEYS, META, b"the continuation")
    for i in range(len(data)):
        bad = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
        with pytest.raises(RecordTampered):
            unseal(KEYS, bad, META, now=0)
    with pytest.raises(RecordTampered):
        unseal(["a key nobody listed"], data, META, now=0)
    for short in (b"", MAGIC, data[:-1]):
        with pytest.raises(RecordTampered):
            unseal(KEYS, short, META, now=0)


def test_a_genuine_record_past_its_expiry_is_expired_not_tampered() -> None:
    with pytest.raises(RecordExpired):
        unseal(KEYS, seal(KEYS, META, b"x"), META, now=1000)
