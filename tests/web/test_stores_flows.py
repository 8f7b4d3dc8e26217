"""Flows in every continuation store: records put in a flow, `expire_flow`, and the races
between takes and expiries; then what is particular to Redis. SQLite's migration and its
OS-process races are in test_stores_flows_sqlite.py."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

import pytest
import redis
from redis.crc import key_slot

from tmweb.web.errors import StoreUnavailable
from tmweb.web.stores import RedisStore, SQLiteStore, Store

if TYPE_CHECKING:
    from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

F, G = "f" * 32, "0123456789abcdef" * 2  # two flow ids, as the caller makes them


async def readable(store: Store, key: str, flow: str | None) -> bytes | None:
    """What a plain get returns, then what a take returns (None if they disagree)."""
    got = await store.get(key, once=False, flow=flow)
    taken = await store.get(key, once=True, flow=flow)
    return got if got == taken else None


# -- every store -------------------------------------------------------------------------


async def test_a_record_of_a_flow_comes_back_from_its_flow(store: Store) -> None:
    await store.put("a", b"plain", ttl=60, once=False, flow=F)
    await store.put("b", b"once", ttl=60, once=True, flow=F)
    for _ in range(2):
        assert await store.get("a", once=False, flow=F) == b"plain"
    assert await store.get("b", once=True, flow=F) == b"once"
    assert await store.get("b", once=True, flow=F) is None
    await store.put("empty", b"", ttl=60, once=True, flow=F)
    assert await store.get("empty", once=True, flow=F) == b""
    assert await store.get("empty", once=True, flow=F) is None


@pytest.mark.parametrize("once", [False, True])
async def test_a_record_read_with_another_flow_is_none_and_stays(store: Store, once) -> None:
    await store.put("in-f", b"x", ttl=60, once=once, flow=F)
    await store.put("no-flow", b"y", ttl=60, once=once)
    for take in (False, True):
        assert await store.get("in-f", once=take, flow=None) is None
        assert await store.get("in-f", once=take, flow=G) is None
        assert await store.get("no-flow", once=take, flow=F) is None
    # A mismatched take takes nothing: the record is still there for its own flow.
    assert await store.get("in-f", once=once, flow=F) == b"x"
    assert await store.get("no-flow", once=once) == b"y"


async def test_expire_flow_invalidates_every_earlier_record_of_that_flow_only(
    store: Store,
) -> None:
    await store.put("f-plain", b"1", ttl=60, once=False, flow=F)
    await store.put("f-once", b"2", ttl=60, once=True, flow=F)
    await store.put("g-plain", b"3", ttl=60, once=False, flow=G)
    await store.put("g-once", b"4", ttl=60, once=True, flow=G)
    await store.put("none-plain", b"5", ttl=60, once=False)
    await store.put("none-once", b"6", ttl=60, once=True)

    await store.expire_flow(F)

    for key in ("f-plain", "f-once"):
        assert await store.get(key, once=False, flow=F) is None
        assert await store.get(key, once=True, flow=F) is None
    assert await store.get("g-plain", once=False, flow=G) == b"3"
    assert await store.get("g-once", once=True, flow=G) == b"4"
    assert await store.get("none-plain", once=False) == b"5"
    assert await store.get("none-once", once=True) == b"6"


async def test_records_put_after_expire_flow_are_valid_until_the_next_one(store: Store) -> None:
    await store.put("page1", b"1", ttl=60, once=False, flow=F)
    await store.expire_flow(F)  # send/forward: expire the flow, then save the next page
    await store.put("page2", b"2", ttl=60, once=False, flow=F)
    await store.put("page2-once", b"2!", ttl=60, once=True, flow=F)
    assert await store.get("page1", once=False, flow=F) is None
    assert await store.get("page2", once=False, flow=F) == b"2"
    await store.expire_flow(F)
    await store.put("page3", b"3", ttl=60, once=False, flow=F)
    assert await store.get("page2", once=False, flow=F) is None
    assert await store.get("page2-once", once=True, flow=F) is None
    assert await store.get("page3", once=False, flow=F) == b"3"


async def test_a_put_replaces_an_expired_record_with_a_valid_one(store: Store) -> None:
    await store.put("k", b"old", ttl=60, once=False, flow=F)
    await store.expire_flow(F)
    await store.put("k", b"new", ttl=60, once=False, flow=F)
    assert await store.get("k", once=False, flow=F) == b"new"


async def test_expire_flow_is_idempotent_and_an_unknown_flow_is_fine(store: Store) -> None:
    await store.expire_flow("never-used")
    await store.expire_flow("never-used")
    await store.put("k", b"x", ttl=60, once=False, flow="never-used")
    assert await store.get("k", once=False, flow="never-used") == b"x"
    await store.put("j", b"y", ttl=60, once=False, flow=F)
    await store.expire_flow(F)
    await store.expire_flow(F)
    assert await store.get("j", once=False, flow=F) is None


async def test_delete_forgets_a_record_of_a_flow(store: Store) -> None:
    await store.put("k", b"x", ttl=60, once=False, flow=F)
    await store.delete("k", flow=G)  # another flow's record: nothing happens
    assert await store.get("k", once=False, flow=F) == b"x"
    await store.delete("k", flow=F)
    assert await store.get("k", once=False, flow=F) is None
    await store.delete("k", flow=F)


@pytest.mark.parametrize("flow", ["", "a{b}", "}", 7])
async def test_a_flow_id_is_a_non_empty_string_without_braces(store: Store, flow) -> None:
    with pytest.raises(ValueError, match="flow id"):
        await store.put("k", b"x", ttl=60, once=False, flow=flow)
    with pytest.raises(ValueError, match="flow id"):
        await store.get("k", once=False, flow=flow)
    with pytest.raises(ValueError, match="flow id"):
        await store.expire_flow(flow)


async def test_a_record_of_a_flow_expires_after_its_ttl(store: Store, clock: FakeClock) -> None:
    await store.put("short", b"x", ttl=1, once=False, flow=F)
    await store.put("long", b"y", ttl=60, once=True, flow=F)
    clock.advance(1.2)
    assert await store.get("short", once=False, flow=F) is None
    assert await store.get("long", once=True, flow=F) == b"y"


async def test_the_generation_outlives_every_record_of_its_flow(
    store: Store, clock: FakeClock
) -> None:
    # The flow's counter must last as long as its longest-lived record: were it to go with
    # the short one, the next put would start the flow afresh and could make the long,
    # expired record valid again.
    await store.put("long", b"L", ttl=100, once=False, flow=F)
    await store.put("short", b"S", ttl=10, once=True, flow=F)  # must not shorten the flow
    await store.expire_flow(F)
    clock.advance(50)  # "short" and, were it tied to "short", the counter are gone
    if isinstance(store, SQLiteStore):
        store._next_sweep = 0  # the next put sweeps
    await store.put("next", b"N", ttl=10, once=False, flow=F)
    assert await readable(store, "long", F) is None
    assert await store.get("next", once=False, flow=F) == b"N"
    clock.advance(60)  # every record of the flow is gone, and so may the counter be
    await store.put("again", b"A", ttl=10, once=False, flow=F)
    assert await store.get("long", once=False, flow=F) is None
    assert await store.get("again", once=False, flow=F) == b"A"


async def test_50_concurrent_takes_of_a_one_shot_flow_record_give_it_once(store: Store) -> None:
    for i in range(5):
        await store.put(f"k{i}", b"x", ttl=60, once=True, flow=F)
        got = await asyncio.gather(*(store.get(f"k{i}", once=True, flow=F) for _ in range(50)))
        assert got.count(b"x") == 1
        assert got.count(None) == 49


async def test_a_take_racing_expire_flow_either_came_first_or_gets_nothing(store: Store) -> None:
    # Linearizable: a take that returns the data must have started before expire_flow
    # returned; every take that starts after it gets None.
    rng = random.Random(10)
    for _ in range(5):
        keys = [f"k{i}" for i in range(30)]
        for key in keys:
            await store.put(key, b"x", ttl=60, once=True, flow=F)

        async def take(key: str) -> tuple[float, bytes | None]:
            await asyncio.sleep(rng.uniform(0, 0.02))
            start = time.monotonic()
            return start, await store.get(key, once=True, flow=F)

        async def expire() -> float:
            await asyncio.sleep(0.01)
            await store.expire_flow(F)
            return time.monotonic()

        expired, *takes = await asyncio.gather(expire(), *(take(k) for k in keys))
        for start, got in takes:
            assert got is None or start < expired
        for key in keys:
            assert await readable(store, key, F) is None
        await store.put("after", b"y", ttl=60, once=True, flow=F)
        assert await store.get("after", once=True, flow=F) == b"y"


# -- Redis -------------------------------------------------------------------------------


async def test_redis_keys_of_a_flow_share_a_hash_slot_under_the_prefix(redis_url) -> None:
    s = RedisStore(redis_url, prefix="app:")
    client = redis.Redis.from_url(redis_url)
    try:
        await s.put("abc", b"data", ttl=60, once=False, flow=F)
        await s.put("plain", b"p", ttl=60, once=False)
        keys = sorted(k.decode() for k in client.keys("*"))
        assert keys == ["app:plain", f"app:{{{F}}}:gen", f"app:{{{F}}}:k:abc"]
        assert len({key_slot(k.encode()) for k in keys if F in k}) == 1
        assert client.hget(f"app:{{{F}}}:k:abc", "data") == b"data"
        assert 0 < client.ttl(f"app:{{{F}}}:k:abc") <= 60
        assert 0 < client.ttl(f"app:{{{F}}}:gen") <= 60
    finally:
        client.close()
        await s.close()


async def test_redis_the_generation_outlives_records_by_redis_own_clock(redis_url) -> None:
    # The one real wait of the flow tests: only Redis itself shows that the counter's
    # expiry follows the flow's longest-lived record, not its latest put.
    s = RedisStore(redis_url)
    client = redis.Redis.from_url(redis_url)
    gen = f"tmweb:{{{F}}}:gen"
    try:
        await s.put("long", b"L", ttl=2, once=False, flow=F)
        await s.put("short", b"S", ttl=1, once=True, flow=F)
        assert client.pttl(gen) > 1500
        await s.expire_flow(F)
        await asyncio.sleep(1.1)
        assert await s.get("short", once=True, flow=F) is None
        assert client.exists(gen)  # "long" is still there, so is the counter
        await s.put("next", b"N", ttl=1, once=False, flow=F)
        assert await s.get("long", once=False, flow=F) is None
        assert await s.get("next", once=False, flow=F) == b"N"
    finally:
        client.close()
        await s.close()


async def test_redis_a_lost_counter_never_makes_an_expired_record_valid(redis_url) -> None:
    # Eviction under maxmemory (or a manual DEL) can drop a counter before its records:
    # the new counter starts at the server's time, never at an old record's generation.
    s = RedisStore(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        await s.put("k", b"x", ttl=60, once=False, flow=F)
        await s.expire_flow(F)
        client.delete(f"tmweb:{{{F}}}:gen")
        await s.put("new", b"n", ttl=60, once=False, flow=F)
        assert await s.get("k", once=False, flow=F) is None
        assert await s.get("new", once=False, flow=F) == b"n"
        # And a counter that is gone makes every record of the flow invalid.
        client.delete(f"tmweb:{{{F}}}:gen")
        assert await s.get("new", once=False, flow=F) is None
    finally:
        client.close()
        await s.close()


async def test_redis_scripts_are_loaded_again_after_script_flush(redis_url) -> None:
    s = RedisStore(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        await s.put("k", b"x", ttl=60, once=True, flow=F)
        client.script_flush()
        assert await s.get("k", once=True, flow=F) == b"x"
        client.script_flush()
        await s.expire_flow(F)
        client.script_flush()
        await s.put("j", b"y", ttl=60, once=False, flow=F)
        assert await s.get("j", once=False, flow=F) == b"y"
    finally:
        client.close()
        await s.close()


async def test_redis_down_fails_flow_operations_then_recovers(redis_server, redis_url) -> None:
    if not redis_server.can_restart:
        pytest.skip("TMWEB_TEST_REDIS is set: cannot stop or start an external Redis")
    s = RedisStore(redis_url)
    try:
        await s.put("k", b"x", ttl=60, once=False, flow=F)  # a pooled connection, soon dead
        redis_server.stop()
        try:
            for op in (
                lambda: s.put("k", b"x", ttl=60, once=False, flow=F),
                lambda: s.get("k", once=False, flow=F),
                lambda: s.get("k", once=True, flow=F),
                lambda: s.expire_flow(F),
                lambda: s.delete("k", flow=F),
            ):
                with pytest.raises(StoreUnavailable) as e:
                    await op()
                assert str(e.value) == f"Redis at {redis_url} is unreachable: Connection refused"
                assert e.value.__cause__ is not None
        finally:
            redis_server.start()  # a new server: no data, no scripts
        await s.put("k", b"back", ttl=60, once=True, flow=F)
        await s.expire_flow(G)
        assert await s.get("k", once=True, flow=F) == b"back"
    finally:
        await s.close()


def test_a_redis_store_runs_flow_scripts_from_a_new_event_loop(redis_url) -> None:
    s = RedisStore(redis_url)

    async def put_get(value: bytes, close: bool) -> bytes | None:
        await s.put("k", value, ttl=60, once=False, flow=F)
        try:
            return await s.get("k", once=False, flow=F)
        finally:
            if close:
                await s.close()

    assert asyncio.run(put_get(b"one", close=False)) == b"one"
    assert asyncio.run(put_get(b"two", close=True)) == b"two"
