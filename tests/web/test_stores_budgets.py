"""Per-owner budgets in both stores (issue 11, finding 1): an owner (a browser session) keeps
at most N records and B bytes; a put beyond evicts the owner's records closest to expiring,
never the one just put, and nobody else's. The SQLite store also has a whole-file budget."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import redis

from tmweb.web.stores import OwnerLimits, RedisStore, SQLiteStore, Store

pytestmark = pytest.mark.anyio

A, B = "session-a", "session-b"


async def live(store: Store, keys: list[str], flow: str | None = "f") -> list[str]:
    return [k for k in keys if await store.get(k, once=False, flow=flow) is not None]


async def test_an_owner_over_its_count_loses_its_oldest(store: Store) -> None:
    limits = OwnerLimits(max_records=3, max_bytes=1 << 20)
    keys = [f"k{i}" for i in range(5)]
    evicted = [await store.put(k, b"x" * 10, 60 + i, False, flow="f", owner=A, limits=limits)
               for i, k in enumerate(keys)]  # fmt: skip
    assert evicted == [0, 0, 0, 1, 1]
    assert await live(store, keys) == ["k2", "k3", "k4"]


async def test_an_owner_over_its_bytes_loses_its_oldest(store: Store) -> None:
    limits = OwnerLimits(max_records=100, max_bytes=2500)
    keys = [f"k{i}" for i in range(6)]
    for i, k in enumerate(keys):
        await store.put(k, b"x" * 1000, 60 + i, False, flow="f", owner=A, limits=limits)
    assert await live(store, keys) == ["k4", "k5"]  # 2,000 bytes fit, 3,000 would not


async def test_the_record_just_put_stays_even_if_it_expires_first(store: Store) -> None:
    limits = OwnerLimits(max_records=2, max_bytes=1 << 20)
    await store.put("long1", b"1", 3600, False, flow="f", owner=A, limits=limits)
    await store.put("long2", b"2", 3600, False, flow="f", owner=A, limits=limits)
    await store.put("short", b"3", 60, False, flow="f", owner=A, limits=limits)
    # the records closest to expiring go first: a 1-hour shareable link outlives pages
    assert await live(store, ["long1", "long2", "short"]) == ["long2", "short"]


async def test_other_owners_and_unowned_records_are_untouched(store: Store) -> None:
    limits = OwnerLimits(max_records=2, max_bytes=1 << 20)
    await store.put("b0", b"b", 60, False, flow="f", owner=B, limits=limits)
    await store.put("none", b"n", 60, False)
    for i in range(10):
        await store.put(f"a{i}", b"a", 60 + i, False, flow="f", owner=A, limits=limits)
    assert await live(store, ["b0"]) == ["b0"]
    assert await store.get("none", once=False) == b"n"
    assert await live(store, [f"a{i}" for i in range(10)]) == ["a8", "a9"]


async def test_without_limits_nothing_is_evicted(store: Store) -> None:
    for i in range(20):
        assert await store.put(f"k{i}", b"x", 60, False, flow="f", owner=A) == 0
    assert len(await live(store, [f"k{i}" for i in range(20)])) == 20


async def test_records_without_a_flow_are_budgeted_too(store: Store) -> None:
    limits = OwnerLimits(max_records=1, max_bytes=1 << 20)
    await store.put("p", b"1", 60, False, owner=A, limits=limits)
    await store.put("q", b"2", 61, False, owner=A, limits=limits)
    assert await store.get("p", once=False) is None
    assert await store.get("q", once=False) == b"2"


async def test_an_evicted_one_shot_cannot_be_taken(store: Store) -> None:
    limits = OwnerLimits(max_records=1, max_bytes=1 << 20)
    await store.put("once", b"1", 60, True, flow="f", owner=A, limits=limits)
    await store.put("next", b"2", 61, True, flow="f", owner=A, limits=limits)
    assert await store.get("once", once=True, flow="f") is None
    assert await store.get("next", once=True, flow="f") == b"2"


def test_a_budget_holds_something() -> None:
    with pytest.raises(ValueError, match="at least 1 record"):
        OwnerLimits(max_records=0)
    with pytest.raises(ValueError, match="at least 1 record and 1 byte"):
        OwnerLimits(max_bytes=0)


async def test_sqlite_counts_exactly_taken_and_expired_records_free_their_room(
    tmp_path: Path, clock: object
) -> None:
    s = SQLiteStore(str(tmp_path / "s.sqlite3"), clock)  # type: ignore[arg-type]
    limits = OwnerLimits(max_records=2, max_bytes=1 << 20)
    try:
        await s.put("t", b"1", 60, True, flow="f", owner=A, limits=limits)
        await s.put("e", b"2", 1, False, flow="f", owner=A, limits=limits)
        assert await s.get("t", once=True, flow="f") == b"1"
        clock.advance(2)  # type: ignore[attr-defined]
        await s.put("k1", b"3", 60, False, flow="f", owner=A, limits=limits)
        await s.put("k2", b"4", 60, False, flow="f", owner=A, limits=limits)
        assert await live(s, ["k1", "k2"]) == ["k1", "k2"]  # neither evicted: room was free
    finally:
        await s.close()


async def test_redis_keeps_the_bookkeeping_with_a_ttl_and_prunes_expired_entries(
    redis_url: str, clock: object
) -> None:
    clock.follow(redis_url)  # type: ignore[attr-defined]
    s = RedisStore(redis_url, prefix="budget-test:")
    limits = OwnerLimits(max_records=3, max_bytes=1 << 20)
    r = redis.Redis.from_url(redis_url)
    try:
        await s.put("e1", b"1", 1, False, flow="f", owner=A, limits=limits)
        await s.put("e2", b"2", 1, False, flow="f", owner=A, limits=limits)
        clock.advance(2)  # type: ignore[attr-defined]
        for i in range(3):  # the two expired entries are pruned, not evicted live ones
            assert await s.put(f"k{i}", b"x", 60, False, flow="f", owner=A, limits=limits) == 0
        assert await live(s, ["k0", "k1", "k2"]) == ["k0", "k1", "k2"]
        keys = list(r.scan_iter("budget-test:*"))
        assert any(b"{s:session-a}" in k for k in keys)
        assert [k for k in keys if r.pttl(k) < 0] == []  # every key expires
        assert int(r.get("budget-test:{s:session-a}:bytes") or 0) == 3
    finally:
        await s.close()
        for k in r.scan_iter("budget-test:*"):
            r.delete(k)
        r.close()


async def test_sqlite_file_budget_evicts_whoever_expires_first(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    s = SQLiteStore(str(path), max_bytes=2 << 20)
    try:
        for i in range(100):  # 5 MB through a 2 MiB store, from 100 cookieless "sessions"
            await s.put(f"k{i}", bytes([i]) * 50_000, 60 + i, False, flow=f"f{i}", owner=f"s{i}")
        assert await s.get("k99", once=False, flow="f99") == bytes([99]) * 50_000
        assert await s.get("k0", once=False, flow="f0") is None
    finally:
        await s.close()
    with sqlite3.connect(path) as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        kept = conn.execute("SELECT count(*) FROM continuations").fetchone()[0]
    conn.close()
    assert (pages - free) * size <= 2 << 20
    assert 20 <= kept <= 42  # about 2 MiB of 50 KB records: the budget is used, not wasted
    assert pages * size <= (2 << 20) + 200_000  # freed pages are reused: the file stops growing


def test_a_sqlite_budget_under_one_mib_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="under 1 MiB"):
        SQLiteStore(str(tmp_path / "s.sqlite3"), max_bytes=1000)


async def test_an_eviction_makes_room_for_a_sixteenth_of_the_budget(store: Store) -> None:
    # so that a session at its limit does not pay for an eviction on every save
    limits = OwnerLimits(max_records=32, max_bytes=1 << 20)
    assert (limits.low_records, limits.low_bytes) == (30, (1 << 20) - (1 << 16))
    keys = [f"k{i}" for i in range(36)]
    evicted = [await store.put(k, b"x", 60 + i, False, flow="f", owner=A, limits=limits)
               for i, k in enumerate(keys)]  # fmt: skip
    assert evicted[:32] == [0] * 32
    assert evicted[32:] == [3, 0, 0, 3]  # 33 > 32: down to 30; 31, 32 fit; 33 again
    assert await live(store, keys) == keys[6:]
