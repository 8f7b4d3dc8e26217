"""The `Continuations` service on its own: save under a token, load back, and each way a
load can fail, with a fake clock instead of waiting for a TTL to run out."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tmweb.lang import Runtime
from tmweb.lang.builtins.registry import REGISTRY
from tmweb.lang.code import Closure, Continuation
from tmweb.lang.machine import Machine
from tmweb.lang.serial import serialize
from tmweb.web.continuations import (
    ContinuationExpired,
    ContinuationInvalid,
    Continuations,
    ContinuationTooLarge,
    ContinuationUnloadable,
    Record,
)
from tmweb.web.records import RecordMeta, seal
from tmweb.web.stores import SQLiteStore
from tmweb.web.tokens import Tokens

if TYPE_CHECKING:
    from tests.conftest import FakeClock

pytestmark = pytest.mark.anyio

KEY = "continuations-test-key"

SRC = """
(def captured (cloneable-reset (fn [] (+ 1 (cloneable-shift [k] k)))))
(def add-one (fn [x] (+ x 1)))
"""


@pytest.fixture(scope="module")
def rt(tmp_path_factory: pytest.TempPathFactory) -> Runtime:
    folder = tmp_path_factory.mktemp("program")
    (folder / "main.tm").write_text(textwrap.dedent(SRC), encoding="utf-8")
    rt = Runtime(roots=[str(folder)])
    rt.load_module("main")
    return rt


def value(rt: Runtime, name: str) -> Any:
    return rt.modules["main"].cells[name].value


class Untouchable:
    """A store that fails the test if anything asks it for anything."""

    url = "untouchable://"

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the store was asked for {name}")


@pytest.fixture
async def store(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SQLiteStore]:
    s = SQLiteStore(str(tmp_path / "store.sqlite3"), clock)
    try:
        yield s
    finally:
        await s.close()


@pytest.fixture
def service(store: SQLiteStore, rt: Runtime, clock: FakeClock) -> Continuations:
    return Continuations(store, Tokens([KEY], clock=clock), rt, ttl=60, max_bytes=10_000)


async def resume(rt: Runtime, k: Continuation, v: Any) -> Any:
    machine = Machine(100_000)
    machine.rt = rt
    return await machine.run_async(machine.start(REGISTRY["resume"], (k, v)))


# -- save and load -------------------------------------------------------------------------


async def test_a_saved_continuation_loads_back_and_resumes_again_and_again(
    service: Continuations, rt: Runtime
) -> None:
    token = await service.save(value(rt, "captured"))
    first = await service.load(token)
    assert first.__class__ is Continuation
    assert await resume(rt, first, 41) == 42
    assert await resume(rt, await service.load(token), 1) == 2


async def test_a_saved_function_loads_back_as_a_function(
    service: Continuations, rt: Runtime
) -> None:
    k = await service.load(await service.save(value(rt, "add-one")))
    assert k.__class__ is Closure


async def test_check_reads_the_record_from_the_token_alone(
    service: Continuations, rt: Runtime, store: SQLiteStore
) -> None:
    token = await service.save(value(rt, "captured"), once=True, ttl=5)
    service.store = Untouchable()  # type: ignore[assignment]
    record = service.check(token)
    assert (record.once, record.ttl, len(record.key)) == (True, 5, 32)
    service.store = store
    assert (await service.load(record)).__class__ is Continuation


async def test_a_one_shot_loads_once_even_when_two_loads_race(
    service: Continuations, rt: Runtime
) -> None:
    for _ in range(5):
        token = await service.save(value(rt, "captured"), once=True)
        outcomes = await asyncio.gather(
            service.load(token), service.load(token), return_exceptions=True
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["Continuation", "ContinuationExpired"]


async def test_peek_reads_the_bytes_without_using_up_a_one_shot(
    service: Continuations, rt: Runtime
) -> None:
    token = await service.save(value(rt, "captured"), once=True)
    assert await service.peek(token) == await service.peek(token)
    await service.load(token)
    with pytest.raises(ContinuationExpired):
        await service.peek(token)


async def test_a_continuation_over_the_size_limit_is_not_stored(
    store: SQLiteStore, rt: Runtime, clock: FakeClock
) -> None:
    small = Continuations(store, Tokens([KEY], clock=clock), rt, max_bytes=10)
    small.store = Untouchable()  # type: ignore[assignment]
    with pytest.raises(ContinuationTooLarge, match="over the limit of 10 bytes") as e:
        await small.save(value(rt, "captured"))
    assert e.value.limit == 10 and e.value.size > 10


@pytest.mark.parametrize("ttl", [0, -5])
async def test_a_ttl_must_be_positive(service: Continuations, rt: Runtime, ttl: int) -> None:
    with pytest.raises(ValueError, match="ttl"):
        await service.save(value(rt, "captured"), ttl=ttl)


# -- what a load can run into -------------------------------------------------------------


@pytest.mark.parametrize("mangle", [lambda t: t[:-3] + "xyz", lambda t: t[:-4], lambda t: "nope"])
async def test_a_tampered_token_is_invalid_and_never_reaches_the_store(
    service: Continuations, rt: Runtime, mangle: Any
) -> None:
    token = await service.save(value(rt, "captured"))
    service.store = Untouchable()  # type: ignore[assignment]
    with pytest.raises(ContinuationInvalid, match="not valid"):
        await service.load(mangle(token))


async def test_a_token_from_another_key_is_invalid(service: Continuations, rt: Runtime) -> None:
    other = Continuations(service.store, Tokens(["another-key"]), rt)
    with pytest.raises(ContinuationInvalid):
        service.check(await other.save(value(rt, "captured")))


async def test_a_token_past_its_ttl_is_expired_without_asking_the_store(
    service: Continuations, rt: Runtime, clock: FakeClock
) -> None:
    token = await service.save(value(rt, "captured"), ttl=1)
    clock.advance(2)
    service.store = Untouchable()  # type: ignore[assignment]
    with pytest.raises(ContinuationExpired, match="token has expired"):
        service.check(token)


async def test_a_continuation_the_store_expired_is_expired(
    service: Continuations, rt: Runtime, clock: FakeClock
) -> None:
    token = await service.save(value(rt, "captured"), ttl=10)
    clock.advance(9.5)
    await service.load(token)
    clock.advance(1)  # whole seconds: the token is 10 s old, not over its TTL; the row is
    with pytest.raises(ContinuationExpired, match="nothing is stored"):
        await service.load(token)


async def test_a_token_for_nothing_is_expired(service: Continuations) -> None:
    token, _ = service.tokens.new(60, False)
    with pytest.raises(ContinuationExpired, match="nothing is stored"):
        await service.load(token)


async def test_stored_bytes_the_program_cannot_load_are_unloadable_with_the_reason(
    service: Continuations, store: SQLiteStore, rt: Runtime
) -> None:
    token = await service.save(value(rt, "captured"))
    record = service.check(token)
    await store.put(record.key, sealed(service, record, b"\x93not ours"), 60, False, flow=record.flow)
    with pytest.raises(ContinuationUnloadable) as e:
        await service.load(record)
    assert e.value.error is not None
    assert str(e.value) == e.value.error.message
    assert isinstance(e.value, ContinuationExpired)  # answered like any expired page


async def test_a_stored_value_that_is_not_a_continuation_is_unloadable(
    service: Continuations, store: SQLiteStore, rt: Runtime
) -> None:
    token = await service.save(value(rt, "captured"))
    record = service.check(token)
    await store.put(record.key, sealed(service, record, serialize(rt, 42)), 60, False, flow=record.flow)
    with pytest.raises(ContinuationUnloadable, match="not a continuation") as e:
        await service.load(record)
    assert e.value.error is None


def sealed(service: Continuations, record: Record, blob: bytes) -> bytes:
    """`blob` stored as the service stores it: authenticated with the app's keys."""
    meta = RecordMeta(record.key, record.flow, record.session, record.once, 2**40)
    return seal(service.tokens.secret_keys, meta, blob)


async def test_a_record_written_to_the_store_by_someone_else_is_never_loaded(
    service: Continuations, store: SQLiteStore, rt: Runtime
) -> None:
    a = service.check(await service.save(value(rt, "captured")))
    b = service.check(await service.save(value(rt, "add-one")))
    genuine_a = await store.get(a.key, False)
    assert genuine_a is not None
    forgeries = [
        serialize(rt, value(rt, "add-one")),  # raw bytes, as an older tmweb stored them
        genuine_a[:-40] + bytes([genuine_a[-40] ^ 1]) + genuine_a[-39:],  # one bit flipped
        genuine_a[:-1],  # truncated
        sealed(Continuations(store, Tokens(["another key"])), a, serialize(rt, 1)),
    ]
    for forged in forgeries:
        await store.put(a.key, forged, 60, False)
        with pytest.raises(ContinuationUnloadable, match="integrity"):
            await service.load(a)
    # a genuine record copied under another token's id fails alike
    await store.put(b.key, genuine_a, 60, False)
    with pytest.raises(ContinuationUnloadable, match="not the record its token names"):
        await service.load(b)


async def test_records_made_with_an_older_listed_key_still_load(
    store: SQLiteStore, rt: Runtime
) -> None:
    old = Continuations(store, Tokens(["old-key"]), rt)
    token = await old.save(value(rt, "captured"))
    rotated = Continuations(store, Tokens(["new-key", "old-key"]), rt)
    assert isinstance(await rotated.load(token), Continuation)


def test_a_record_is_a_small_immutable_value() -> None:
    record = Record("ab" * 16, once=False, ttl=60)
    with pytest.raises(AttributeError):
        record.ttl = 1  # type: ignore[misc]
