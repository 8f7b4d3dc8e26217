"""One suite for every continuation store, then what is particular to each."""

from __future__ import annotations

import asyncio
import os
import sqlite3

import pytest
import redis

from tmweb.web.errors import ConfigError, StoreUnavailable
from tmweb.web.stores import OwnerLimits, RedisStore, SQLiteStore, Store, open_store

pytestmark = pytest.mark.anyio


# -- every store -------------------------------------------------------------------------


async def test_a_put_value_comes_back(store: Store) -> None:
    await store.put("a1", b"\x00data\xff", ttl=60, once=False)
    assert await store.get("a1", once=False) == b"\x00data\xff"


async def test_an_unknown_key_is_none(store: Store) -> None:
    assert await store.get("nope", once=False) is None
    assert await store.get("nope", once=True) is None


async def test_a_put_replaces_the_previous_value(store: Store) -> None:
    await store.put("k", b"one", ttl=60, once=False)
    await store.put("k", b"two", ttl=60, once=False)
    assert await store.get("k", once=False) == b"two"


async def test_a_value_expires_after_its_ttl(store: Store, clock) -> None:
    await store.put("short", b"x", ttl=1, once=False)
    await store.put("long", b"y", ttl=60, once=False)
    clock.advance(0.9)
    assert await store.get("short", once=False) == b"x"
    clock.advance(0.3)
    assert await store.get("short", once=False) is None
    assert await store.get("short", once=True) is None
    assert await store.get("long", once=False) == b"y"
    clock.advance(60)
    assert await store.get("long", once=True) is None


async def test_a_take_returns_the_data_once(store: Store) -> None:
    await store.put("k", b"x", ttl=60, once=True)
    assert await store.get("k", once=True) == b"x"
    assert await store.get("k", once=True) is None
    assert await store.get("k", once=False) is None


async def test_of_two_concurrent_takes_exactly_one_gets_the_data(store: Store) -> None:
    for i in range(20):
        await store.put(f"k{i}", b"x", ttl=60, once=True)
        got = await asyncio.gather(store.get(f"k{i}", once=True), store.get(f"k{i}", once=True))
        assert sorted(got, key=lambda v: v is None) == [b"x", None]


async def test_a_multi_use_get_returns_the_data_every_time(store: Store) -> None:
    await store.put("k", b"x", ttl=60, once=False)
    for _ in range(3):
        assert await store.get("k", once=False) == b"x"


async def test_delete_forgets_a_key_and_ignores_a_missing_one(store: Store) -> None:
    await store.put("k", b"x", ttl=60, once=False)
    await store.delete("k")
    assert await store.get("k", once=False) is None
    await store.delete("k")


async def test_ping_answers_and_close_twice_is_harmless(store: Store) -> None:
    await store.ping()
    await store.close()
    await store.close()


async def test_a_ttl_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await store.put("k", b"x", ttl=0, once=False)


async def test_the_store_url_is_a_string_for_logs(store: Store) -> None:
    assert isinstance(store, Store)
    assert store.url.startswith(("sqlite:///", "redis://"))


# -- SQLite ------------------------------------------------------------------------------


async def test_sqlite_data_persists_across_close_and_reopen(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    first = SQLiteStore(path)
    await first.put("k", b"kept", ttl=60, once=False)
    await first.close()
    second = SQLiteStore(path)
    try:
        assert await second.get("k", once=True) == b"kept"
    finally:
        await second.close()


async def test_sqlite_file_is_shared_by_two_workers(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    a, b = SQLiteStore(path), SQLiteStore(path)
    try:
        await a.put("k", b"x", ttl=60, once=True)
        assert await b.get("k", once=True) == b"x"
        assert await a.get("k", once=True) is None
        for i in range(20):
            await a.put(f"k{i}", b"x", ttl=60, once=True)
            got = await asyncio.gather(a.get(f"k{i}", once=True), b.get(f"k{i}", once=True))
            assert sorted(got, key=lambda v: v is None) == [b"x", None]
    finally:
        await a.close()
        await b.close()


async def test_sqlite_uses_wal_mode(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    s = SQLiteStore(path)
    await s.ping()
    await s.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_sweeps_expired_rows_during_a_put(tmp_path) -> None:
    path = str(tmp_path / "c.sqlite3")
    s = SQLiteStore(path)
    now = [1_000_000.0]
    s.clock = lambda: now[0]
    try:
        await s.put("old", b"x", ttl=10, once=False)
        now[0] += 11
        assert await s.get("old", once=False) is None  # expired, not yet swept
        await s.put("new", b"y", ttl=10, once=False)  # within a minute: no sweep
        now[0] += 60
        await s.put("newer", b"z", ttl=100, once=False)  # sweeps "old" and "new"
    finally:
        await s.close()
    with sqlite3.connect(path) as conn:
        keys = {k for (k,) in conn.execute("SELECT key FROM continuations")}
    assert keys == {"newer"}


async def test_sqlite_unavailable_names_the_file_and_recovers(tmp_path) -> None:
    folder = tmp_path / "not-yet"
    s = SQLiteStore(str(folder / "c.sqlite3"))
    try:
        with pytest.raises(
            StoreUnavailable, match=r"SQLite store at .*not-yet.* is unavailable"
        ) as e:
            await s.put("k", b"x", ttl=60, once=False)
        assert e.value.__cause__ is not None
        folder.mkdir()
        await s.put("k", b"x", ttl=60, once=False)
        assert await s.get("k", once=False) == b"x"
    finally:
        await s.close()


# -- Redis -------------------------------------------------------------------------------


async def test_redis_down_raises_store_unavailable_then_recovers(redis_server, redis_url) -> None:
    if not redis_server.can_restart:
        pytest.skip("TMWEB_TEST_REDIS is set: cannot stop or start an external Redis")
    s = RedisStore(redis_url)
    try:
        await s.put("k", b"x", ttl=60, once=False)  # a pooled connection, soon dead
        redis_server.stop()
        try:
            for op in (
                lambda: s.put("k", b"x", ttl=60, once=False),
                lambda: s.get("k", once=False),
                lambda: s.get("k", once=True),
                lambda: s.delete("k"),
                s.ping,
            ):
                with pytest.raises(StoreUnavailable) as e:
                    await op()
                assert str(e.value) == f"Redis at {redis_url} is unreachable: Connection refused"
                assert e.value.__cause__ is not None
        finally:
            redis_server.start()
        await s.ping()
        await s.put("k", b"back", ttl=60, once=False)
        assert await s.get("k", once=True) == b"back"
    finally:
        await s.close()


async def test_a_hung_redis_fails_within_the_timeout_and_no_reply_is_read_late(
    redis_server, redis_url
) -> None:
    """The store bounds each operation with one timer; a connection cancelled while it
    waited for its replies is dropped, so a reply that arrives later is never read as the
    answer to the next operation."""
    import signal

    proc = getattr(redis_server, "_proc", None)
    if proc is None:
        pytest.skip("TMWEB_TEST_REDIS is set: cannot pause an external Redis")
    s = RedisStore(redis_url)
    s.socket_timeout = 0.5
    try:
        await s.put("a", b"A", ttl=60, once=False, flow="f")
        await s.put("b", b"B", ttl=60, once=False, flow="f")
        proc.send_signal(signal.SIGSTOP)
        try:
            with pytest.raises(StoreUnavailable, match="did not answer within 0.5 s"):
                await s.get("a", once=False, flow="f")
        finally:
            proc.send_signal(signal.SIGCONT)
        assert await s.get("b", once=False, flow="f") == b"B"
        assert await s.get("a", once=False, flow="f") == b"A"
    finally:
        await s.close()


async def test_an_error_reply_in_a_round_trip_leaves_the_connection_in_step(redis_url) -> None:
    """A save whose script fails (here: its record key holds another type) raises, and the
    replies after it are read too, so the next operation gets its own."""
    s = RedisStore(redis_url)
    client = redis.Redis.from_url(redis_url)
    try:
        client.set("tmweb:{f}:k:clash", b"a plain string")
        with pytest.raises(StoreUnavailable, match="WRONGTYPE"):
            await s.put("clash", b"x", ttl=60, once=False, flow="f", owner="o",
                        limits=OwnerLimits(10, 1 << 20))  # fmt: skip
        await s.put("fine", b"y", ttl=60, once=False, flow="f")
        assert await s.get("fine", once=False, flow="f") == b"y"
    finally:
        client.delete("tmweb:{f}:k:clash")
        client.close()
        await s.close()


async def test_redis_expires_a_key_by_its_own_clock(redis_url) -> None:
    # The one real wait of the store tests: elsewhere a fake clock shortens Redis TTLs, but
    # only Redis itself can show that the TTL the store sets makes the key go. 1 s is the
    # smallest TTL a store accepts.
    s = RedisStore(redis_url)
    try:
        await s.put("short", b"x", ttl=1, once=False)
        await asyncio.sleep(1.05)
        assert await s.get("short", once=False) is None
    finally:
        await s.close()


def test_a_redis_store_works_from_a_new_event_loop(redis_url) -> None:
    # As with a test client that runs each request on a loop of its own: the client of a
    # closed loop is abandoned (its sockets are garbage), a fresh one serves the new loop.
    s = RedisStore(redis_url)

    async def put_get(value: bytes, close: bool) -> bytes | None:
        await s.put("k", value, ttl=60, once=False)
        try:
            return await s.get("k", once=False)
        finally:
            if close:
                await s.close()

    assert asyncio.run(put_get(b"one", close=False)) == b"one"
    assert asyncio.run(put_get(b"two", close=True)) == b"two"


# -- open_store --------------------------------------------------------------------------


@pytest.mark.parametrize("url", [None, ""])
async def test_open_store_defaults_to_sqlite_under_the_app_folder(tmp_path, url) -> None:
    s = open_store(url, str(tmp_path / "app"))
    assert isinstance(s, SQLiteStore)
    expected = tmp_path / "app" / ".tmweb" / "continuations.sqlite3"
    assert s.url == f"sqlite:///{expected}"
    await s.put("k", b"x", ttl=60, once=False)
    await s.close()
    assert expected.is_file()


async def test_open_store_sqlite_relative_path_is_from_the_current_folder(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    s = open_store("sqlite:///rel.db", "ignored")
    assert isinstance(s, SQLiteStore)
    assert s.path == str(tmp_path / "rel.db")
    await s.ping()
    await s.close()
    assert (tmp_path / "rel.db").is_file()


def test_open_store_sqlite_absolute_path(tmp_path) -> None:
    s = open_store(f"sqlite:///{tmp_path}/abs.db", "ignored")
    assert isinstance(s, SQLiteStore)
    assert s.path == os.path.join(str(tmp_path), "abs.db")
    assert s.url == f"sqlite:///{tmp_path}/abs.db"


@pytest.mark.parametrize(
    "url, message",
    [
        ("sqlite:///", "bad SQLite store URL"),
        ("sqlite://host/x.db", "bad SQLite store URL"),
        ("sqlite:////no/such/folder/x.db", "does not exist"),
        ("http://example.com", "unsupported store URL"),
        ("memcached://127.0.0.1", "unsupported store URL"),
        ("/tmp/x.db", "unsupported store URL"),
        ("redis://127.0.0.1:port/0", "bad Redis store URL"),
    ],
)
def test_open_store_rejects_bad_urls(url, message) -> None:
    with pytest.raises(ConfigError, match=message) as e:
        open_store(url, "app")
    if "unsupported" in message:
        for scheme in ("sqlite:///", "redis://", "rediss://", "unix://"):
            assert scheme in str(e.value)


def test_open_store_hides_a_password_in_an_unsupported_url() -> None:
    with pytest.raises(ConfigError) as e:
        open_store("postgres://user:hunter2@db/app", "app")
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize(
    "url, store_url, prefix",
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0", "tmweb:"),
        ("redis://:s3cret@h:6379/1?prefix=app1:", "redis://h:6379/1", "app1:"),
        ("rediss://u:s3cret@h/2?prefix=", "rediss://u@h/2", ""),
        (
            "unix:///run/redis.sock?db=3&password=s3cret&prefix=p:",
            "unix:///run/redis.sock?db=3",
            "p:",
        ),
    ],
)
def test_open_store_redis_urls(url, store_url, prefix) -> None:
    s = open_store(url, "app")
    assert isinstance(s, RedisStore)
    assert (s.url, s.prefix) == (store_url, prefix)
    assert "s3cret" not in s.url


async def test_redis_keys_land_under_the_prefix(redis_url) -> None:
    s = open_store(f"{redis_url}?prefix=x:", "app")
    d = open_store(redis_url, "app")
    try:
        await s.put("abc", b"1", ttl=60, once=False)
        await d.put("abc", b"2", ttl=60, once=False)
        client = redis.Redis.from_url(redis_url)
        try:
            assert client.get("x:abc") == b"1"
            assert client.get("tmweb:abc") == b"2"
            assert 0 < client.ttl("x:abc") <= 60
        finally:
            client.close()
        assert await s.get("abc", once=True) == b"1"
        assert await d.get("abc", once=True) == b"2"
    finally:
        await s.close()
        await d.close()
