"""Fixtures shared by the web tests: the async backend, and every continuation store.

`store` is a store of each kind whose time is the test's `clock`: SQLite reads it, and
Redis TTLs follow it. A test module may define its own `store` (a URL, or one kind only);
pytest then uses that one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tmweb.web.stores import RedisStore, SQLiteStore, Store

if TYPE_CHECKING:
    from tests.conftest import FakeClock


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "redis"])
async def store(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[Store]:
    """A store whose time is `clock`: SQLite reads it, Redis TTLs follow it."""
    if request.param == "sqlite":
        s: Store = SQLiteStore(str(tmp_path / "store.sqlite3"), clock)
    else:
        url = request.getfixturevalue("redis_url")
        clock.follow(url)
        s = RedisStore(url)
    try:
        yield s
    finally:
        await s.close()
