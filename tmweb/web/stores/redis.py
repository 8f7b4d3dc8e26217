"""The Redis continuation store: keys under a prefix, TTL by Redis expiry, takes by GETDEL.

A record put in a flow lives at `<prefix>{<flow>}:k:<key>`, a hash of `gen` (the flow's
generation when it was put) and `data`; the flow's current generation is the integer at
`<prefix>{<flow>}:gen`, whose expiry is pushed to the latest record's. The `{flow}` hash tag
puts every key of a flow in one hash slot, so each operation is one Lua script on one slot,
atomic on Redis Cluster too: a put reads the generation and writes the record, a get or a
take compares the two (and a take deletes the record), `expire_flow` increments the
generation. Records without a flow keep plain keys, `<prefix><key>`, read by GET and GETDEL.

A new generation counter starts at the server's time in microseconds, not at 0: if Redis
ever drops a counter before its records (eviction under `maxmemory`, a manual DEL), the
next one cannot equal the generation of a record put before, so no expired record comes
back. Scripts run by EVALSHA and are loaded again if Redis has forgotten them (a restart,
SCRIPT FLUSH).

An owner's budget (a browser session's) is kept beside its records, under its own hash
tag: `<prefix>{s:<owner>}:own`, a sorted set of the owner's record keys scored by expiry
(server time, ms), `...:sizes`, their sizes, and `...:bytes`, their sum. A put sends the
record's script and the owner's in one pipeline; the owner's adds the new entry and, only
if the owner is then over its budget, drops entries past their expiry and pops those
closest to expiring down to 15/16 of the budget; the store then unlinks the records popped. The bookkeeping does not see a
one-shot record taken before its expiry: it counts until it would have expired (so an
owner may hold fewer live records than the limit, never more). Every key tmweb writes has a
TTL, so `maxmemory-policy volatile-ttl` evicts only continuations and their bookkeeping.

A short timeout on each operation makes a dead Redis fail fast (503) instead of hanging
requests (one timer per operation: redis-py's own socket timeout costs a `wait_for` per
command and per reply); the
connection pool reconnects by itself once Redis is back. A redis-py asyncio client belongs
to the event loop it first ran on, so the store makes a fresh client when it finds itself
on another loop (a test client that runs each request on its own loop, say).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

import redis.asyncio as aioredis
import redis.exceptions
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from ..errors import ConfigError, StoreUnavailable
from .checks import OwnerLimits, check_flow, check_owner, check_ttl

T = TypeVar("T")

DEFAULT_PREFIX = "tmweb:"

# KEYS: the flow's generation, the record. ARGV: data, ttl in seconds.
_PUT = """
local ttl = tonumber(ARGV[2])
local gen = redis.call('GET', KEYS[1])
if not gen then
  local now = redis.call('TIME')
  gen = now[1] .. string.format('%06d', tonumber(now[2]))
  -- with its TTL at once: a write refused later in the script (maxmemory) leaves no
  -- counter that never expires
  redis.call('SET', KEYS[1], gen, 'PX', ttl * 1000)
end
-- a record has only these two fields: HSET replaces a record put again under its key
redis.call('HSET', KEYS[2], 'gen', gen, 'data', ARGV[1])
redis.call('EXPIRE', KEYS[2], ttl)
if redis.call('PTTL', KEYS[1]) < ttl * 1000 then
  redis.call('PEXPIRE', KEYS[1], ttl * 1000)
end
return 1
"""

# KEYS: the flow's generation, the record. ARGV: "1" to take, "0" to read.
# A record of an earlier generation can never be valid again: it is deleted on sight.
_GET = """
local record = redis.call('HMGET', KEYS[2], 'gen', 'data')
if not record[1] then
  return false
end
if record[1] ~= redis.call('GET', KEYS[1]) then
  redis.call('DEL', KEYS[2])
  return false
end
if ARGV[1] == '1' then
  redis.call('DEL', KEYS[2])
end
return record[2]
"""

# KEYS: the owner's set of record keys by expiry, their sizes, their total.
# ARGV: the record's key, its size, ttl in ms, the owner's limits: records, bytes, and
# what an eviction leaves at most: records, bytes.
# Returns the record keys evicted (the caller deletes them: they live in other hash slots).
# The common case is six commands: the record's entry, its size, the new total, the count,
# and the bookkeeping's expiry pushed to the longest-lived record's. Entries of records that
# expired by themselves are dropped only when the owner is over its budget: they never make
# it keep more live records than the limit, only make it evict a little earlier.
_OWN = """
local own, sizes, total = KEYS[1], KEYS[2], KEYS[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local old = 0
if redis.call('ZADD', own, now + ttl, ARGV[1]) == 0 then
  old = tonumber(redis.call('HGET', sizes, ARGV[1]) or '0')
end
redis.call('HSET', sizes, ARGV[1], size)
local bytes = redis.call('INCRBY', total, size - old)
if redis.call('PTTL', total) < ttl then
  redis.call('PEXPIRE', own, ttl)
  redis.call('PEXPIRE', sizes, ttl)
  redis.call('PEXPIRE', total, ttl)
end
local max_n, max_bytes = tonumber(ARGV[4]), tonumber(ARGV[5])
if redis.call('ZCARD', own) <= max_n and bytes <= max_bytes then
  return {}
end
local gone = redis.call('ZRANGEBYSCORE', own, '-inf', now, 'LIMIT', 0, 1024)
for _, m in ipairs(gone) do
  bytes = bytes - tonumber(redis.call('HGET', sizes, m) or '0')
  redis.call('HDEL', sizes, m)
  redis.call('ZREM', own, m)
end
local low_n, low_bytes = max_n, max_bytes
if redis.call('ZCARD', own) > max_n or bytes > max_bytes then
  low_n, low_bytes = tonumber(ARGV[6]), tonumber(ARGV[7])
end
local evicted = {}
while redis.call('ZCARD', own) > low_n or bytes > low_bytes do
  local first = redis.call('ZRANGE', own, 0, 1)
  local victim = first[1]
  if victim == ARGV[1] then victim = first[2] end
  if not victim then break end
  bytes = bytes - tonumber(redis.call('HGET', sizes, victim) or '0')
  redis.call('ZREM', own, victim)
  redis.call('HDEL', sizes, victim)
  evicted[#evicted + 1] = victim
end
if bytes < 0 then bytes = 0 end
local left = redis.call('PTTL', own)
redis.call('SET', total, bytes)
if left > 0 then redis.call('PEXPIRE', total, left) end
return evicted
"""

# KEYS: the flow's generation. A flow without a counter has no valid record left.
_EXPIRE_FLOW = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[1])
end
return 1
"""


class RedisStore:
    """Continuations in Redis at `url` (redis://, rediss:// or unix://).

    The key prefix is `prefix` if given, else the URL's `prefix` query parameter (removed
    before the URL reaches redis-py), else "tmweb:". A malformed URL raises `ConfigError`;
    nothing connects until the first operation.
    """

    #: Seconds to wait for a TCP connection, then for each reply.
    socket_connect_timeout: float = 2.0
    socket_timeout: float = 5.0

    def __init__(self, url: str, prefix: str | None = None) -> None:
        self._redis_url, url_prefix = _split_prefix(url)
        self.prefix = prefix if prefix is not None else url_prefix
        self.url = _redact(self._redis_url)
        try:
            parse_url(self._redis_url)
        except ValueError as e:
            raise ConfigError(f"bad Redis store URL {self.url!r}: {e}") from e
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"RedisStore({self.url!r}, prefix={self.prefix!r})"

    # -- the Store interface -------------------------------------------------------------

    async def put(
        self,
        key: str,
        data: bytes,
        ttl: int,
        once: bool,
        flow: str | None = None,
        owner: str | None = None,
        limits: OwnerLimits | None = None,
    ) -> int:
        check_ttl(ttl)
        check_flow(flow)
        check_owner(owner)
        record = self._record_key(key, flow)
        if owner is None or limits is None:
            call = self._put_call(record, data, ttl, flow)
            await self._run(lambda r: _pipeline(r, [call]))
            return 0

        own = f"{self.prefix}{{s:{owner}}}:"
        calls = [
            self._put_call(record, data, ttl, flow),
            _script_call(_OWN, [own + "own", own + "sizes", own + "bytes"],
                         [record, len(data), int(ttl) * 1000, limits.max_records, limits.max_bytes,
                          limits.low_records, limits.low_bytes]),
        ]  # fmt: skip
        # one round trip: the record, then its owner's bookkeeping
        _, evicted = await self._run(lambda r: _pipeline(r, calls))
        if evicted:
            await self._run(lambda r: r.unlink(*evicted))
        return len(evicted)

    def _put_call(self, record: str, data: bytes, ttl: int, flow: str | None) -> tuple[Any, ...]:
        """The command that stores one record."""
        if flow is None:
            return ("SET", record, data, "EX", int(ttl))
        return _script_call(_PUT, [self._gen_key(flow), record], [data, int(ttl)])

    async def get(self, key: str, once: bool, flow: str | None = None) -> bytes | None:
        check_flow(flow)
        if flow is None:
            name = self.prefix + key
            return await self._run(lambda r: r.getdel(name) if once else r.get(name))
        keys = [self._gen_key(flow), self._record_key(key, flow)]
        return await self._script(_GET, keys, ["1" if once else "0"])

    async def expire_flow(self, flow: str) -> None:
        check_flow(flow)
        if flow is None:
            raise ValueError("expire_flow needs a flow id, not None")
        await self._script(_EXPIRE_FLOW, [self._gen_key(flow)], [])

    async def delete(self, key: str, flow: str | None = None) -> None:
        check_flow(flow)
        await self._run(lambda r: r.delete(self._record_key(key, flow)))

    async def ping(self) -> None:
        await self._run(lambda r: r.ping())

    async def close(self) -> None:
        client, self._client = self._client, None
        loop, self._loop = self._loop, None
        if client is None or loop is not asyncio.get_running_loop():
            return  # a client of another (maybe closed) loop cannot be closed from here
        try:
            await client.aclose()
        except (redis.exceptions.RedisError, OSError):
            pass

    # -- internals -----------------------------------------------------------------------

    def _gen_key(self, flow: str) -> str:
        return f"{self.prefix}{{{flow}}}:gen"

    def _record_key(self, key: str, flow: str | None) -> str:
        return self.prefix + key if flow is None else f"{self.prefix}{{{flow}}}:k:{key}"

    async def _script(self, source: str, keys: list[str], args: list[object]) -> Any:
        """Run a Lua script by EVALSHA (loading it first if Redis does not know it)."""
        call = _script_call(source, keys, args)
        return (await self._run(lambda r: _pipeline(r, [call])))[0]

    def _redis(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = aioredis.from_url(
                self._redis_url,
                socket_connect_timeout=self.socket_connect_timeout,
                # no per-command timeout: `_run` bounds each whole operation instead (one
                # timer, not a wait_for per send and per read)
                socket_timeout=None,
                # One immediate retry on a broken connection (a pooled socket that died
                # with a Redis restart); none on timeouts, so a hung Redis fails in 5 s.
                retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
            )
            self._loop = loop
        return self._client

    async def _run(self, command: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        try:
            async with asyncio.timeout(self.socket_timeout):
                return await command(self._redis())
        except TimeoutError as e:  # a cancelled read: redis-py drops that connection
            raise StoreUnavailable(
                f"Redis at {self.url} did not answer within {self.socket_timeout:g} s"
            ) from e
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as e:
            raise StoreUnavailable(f"Redis at {self.url} is unreachable: {_reason(e)}") from e
        except redis.exceptions.RedisError as e:
            # OOM, MISCONF (disk full), READONLY replica, protocol errors...
            raise StoreUnavailable(f"Redis at {self.url} failed: {e}") from e


try:
    from hiredis import pack_command as _pack
except ImportError:  # pragma: no cover - hiredis is a dependency; redis-py packs without it
    _pack = None

#: SHA1 of each script, as EVALSHA names it.
_SHA: dict[str, str] = {
    src: hashlib.sha1(src.encode("utf-8")).hexdigest() for src in (_PUT, _GET, _OWN, _EXPIRE_FLOW)
}


def _script_call(source: str, keys: list[str], args: list[object]) -> tuple[Any, ...]:
    return ("EVALSHA", _SHA[source], len(keys), *keys, *args)


async def _pipeline(r: aioredis.Redis, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Send `calls` in one round trip and return their replies (error replies raised).

    On a pooled connection directly, not through redis-py's Pipeline: a request makes a
    round trip or two, and the Pipeline object, its command stack and its retry wrapper
    cost as much CPU as the rest of the store (docs/decisions.md, "Request path"). A
    connection that fails before its replies are read is dropped, never reused half-read;
    a pooled socket that died (a Redis restart) is reconnected and the calls sent once
    more, as redis-py's own retry does. A script Redis does not know (a restart, SCRIPT
    FLUSH) is loaded and that call alone run again."""
    pool = r.connection_pool
    conn = await _connection(pool)
    try:
        try:
            results = await _round_trip(conn, calls)
        except (redis.exceptions.ConnectionError, OSError):
            await conn.disconnect()
            results = await _round_trip(conn, calls)  # connects again
        for i, result in enumerate(results):
            if isinstance(result, redis.exceptions.NoScriptError):
                sha = calls[i][1]
                source = next(src for src, h in _SHA.items() if h == sha)
                [loaded, results[i]] = await _round_trip(conn, [("SCRIPT", "LOAD", source), calls[i]])
                if isinstance(loaded, Exception):
                    raise loaded
        for result in results:
            if isinstance(result, Exception):
                raise result
        return results
    except BaseException:
        await conn.disconnect(nowait=True)
        raise
    finally:
        await pool.release(conn)


async def _round_trip(conn: Any, calls: list[tuple[Any, ...]]) -> list[Any]:
    """Every reply to `calls`: an error reply as its exception, so that one error does
    not leave the replies after it unread on the connection."""
    if _pack is not None:  # hiredis, in C, without redis-py's encoder call per argument
        payload: Any = b"".join([_pack(call) for call in calls])
    else:
        payload = conn.pack_commands(calls)
    await conn.send_packed_command(payload, check_health=False)
    results: list[Any] = []
    for _ in calls:
        try:
            results.append(await conn.read_response())
        except redis.exceptions.ResponseError as e:
            results.append(e)
    return results


async def _connection(pool: Any) -> Any:
    """A connection from `pool` (redis-py < 5.1 wants a command name, later ones warn)."""
    try:
        return await pool.get_connection()
    except TypeError:
        return await pool.get_connection("EVALSHA")


def _reason(e: BaseException) -> str:
    """The short cause of a connection error: "Connection refused", "Timeout reading..."."""
    for exc in (e, e.__cause__, e.__context__):
        if isinstance(exc, OSError) and exc.errno:
            return os.strerror(exc.errno)
    if isinstance(e, TimeoutError | redis.exceptions.TimeoutError):
        return str(e) or "timed out"
    return str(e) or type(e).__name__


def _split_prefix(url: str) -> tuple[str, str]:
    """The URL without its `prefix` query parameter, and the prefix."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefixes = [v for k, v in query if k == "prefix"]
    if not prefixes:
        return url, DEFAULT_PREFIX
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return _unsplit(parts._replace(query=rest)), prefixes[-1]


def _redact(url: str) -> str:
    """The URL for logs: no password, neither in the netloc nor as a query parameter."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, True) if k != "password"])
    return _unsplit(parts._replace(netloc=netloc, query=query))


def _unsplit(parts: SplitResult) -> str:
    """Like `urlunsplit`, but keeps the `//` of `unix:///path` (urlunsplit drops it)."""
    url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    if parts.query:
        url += "?" + parts.query
    if parts.fragment:
        url += "#" + parts.fragment
    return url
