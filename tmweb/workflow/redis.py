"""Workflows on Redis, for workers on several machines: delivery by Redis Streams.

Each queue is a stream, `<prefix>wfq:<queue>`, read by the consumer group `workers`. An
entry says "this workflow is runnable" (started, signalled, woken, migrated here). A worker
reads entries with XREADGROUP; an entry stays in the group's pending list until the worker
acknowledges it, after the run has stored its next checkpoint, its result or its failure.
The worker's heartbeat re-claims its own entries (XCLAIM to itself) so their idle time stays
under the lease; a worker that dies stops doing that, and after the lease another worker
takes its entries with XAUTOCLAIM and resumes the workflows from their last checkpoints.

The workflow itself is a hash, `<prefix>wf:<id>`; every change of it is a Lua script that
first checks the run id (the fencing token a claim writes), so a worker that lost its lease
writes nothing. Sleepers wait in a sorted set per queue, `<prefix>wft:<queue>`, scored by
wake time; a script moves the due ones to the stream. Signals not yet awaited wait in a list
per workflow and name. Keys of one workflow are not hash-tagged together with its queue:
this backend is for one Redis server (with replicas or Sentinel), not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
import redis.exceptions

from .errors import LeaseLost, UnknownWorkflow, WorkflowError, WorkflowFinished, WorkflowUnavailable
from .records import MAX_TRIES, Save, WorkflowRow, poisoned

GROUP = "workers"

_FIELDS = (
    "id", "queue", "fn", "status", "kind", "state", "inbox", "wake_at", "waiting_for", "lease_owner",
    "lease_until", "run_id", "checkpoint", "checkpoint_bytes", "checkpoints", "result", "error",
    "claims", "created", "updated",
)  # fmt: skip
_FLOATS = {"wake_at", "lease_until", "created", "updated"}
_INTS = {"checkpoint_bytes", "checkpoints", "claims"}
_BLOBS = {"state", "inbox", "result"}

# KEYS: wf hash; ARGV: worker, lease_until, run_id, now, max tries, the error of a
# workflow claimed that many times without a checkpoint (failed then). Claimable: ready, a due sleeper,
# or running with its lease run out. Returns 1 if claimed, 2 if another worker's lease on
# it still runs (the entry stays pending: it is that worker's, or the next claimer's once
# the lease is out), 0 if the entry is obsolete (done, failed, waiting, asleep).
_CLAIM = """
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return 0 end
local now = tonumber(ARGV[4])
local ok = st == 'ready'
if st == 'sleeping' and tonumber(redis.call('HGET', KEYS[1], 'wake_at')) <= now then ok = true end
if st == 'running' then
  if tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0') >= now then return 2 end
  ok = true
end
if not ok then return 0 end
local tries = tonumber(redis.call('HGET', KEYS[1], 'tries') or '0')
if tries >= tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[6], 'lease_owner', '', 'run_id', '',
             'updated', ARGV[4])
  return 0
end
redis.call('HINCRBY', KEYS[1], 'tries', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'lease_owner', ARGV[1], 'lease_until', ARGV[2],
           'run_id', ARGV[3], 'updated', ARGV[4], 'waiting_for', '')
redis.call('HINCRBY', KEYS[1], 'claims', 1)
return 1
"""

# KEYS: wf hash, steps hash, step order list, signal list, timers zset, target stream,
# chunks hash; ARGV: run_id, status, state, checkpoint, now, wake_at, waiting_for, queue,
# step name, step value (or '' for none), has_step ('1'/'0'), size, 'whole' or 'inc',
# n new chunks, then n (digest, bytes) pairs, then every digest the state names.
# Returns the taken signal value or false.
_SAVE = """
if redis.call('HGET', KEYS[1], 'run_id') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'status') ~= 'running' then
  return redis.error_reply('LEASE_LOST')
end
if ARGV[11] == '1' then
  if redis.call('HSETNX', KEYS[2], ARGV[9], ARGV[10]) == 1 then redis.call('RPUSH', KEYS[3], ARGV[9]) end
end
local status, kind, inbox, taken = ARGV[2], 'resume', '', false
if status == 'waiting' then
  local v = redis.call('LPOP', KEYS[4])
  if v then status, kind, inbox, taken = 'running', 'signal', v, v end
end
local id = redis.call('HGET', KEYS[1], 'id')
redis.call('HSET', KEYS[1], 'status', status, 'kind', kind, 'state', ARGV[3], 'inbox', inbox,
           'checkpoint', ARGV[4], 'checkpoint_bytes', string.len(ARGV[3]), 'updated', ARGV[5],
           'wake_at', ARGV[6], 'waiting_for', (status == 'waiting') and ARGV[7] or '')
redis.call('HINCRBY', KEYS[1], 'checkpoints', 1)
redis.call('HSET', KEYS[1], 'checkpoint_bytes', ARGV[12], 'tries', 0)
if ARGV[13] == 'whole' then
  redis.call('DEL', KEYS[7])
else
  local n = tonumber(ARGV[14])
  for i = 0, n - 1 do redis.call('HSETNX', KEYS[7], ARGV[15 + 2 * i], ARGV[16 + 2 * i]) end
  local keep = {}
  for i = 15 + 2 * n, #ARGV do keep[ARGV[i]] = true end
  for _, d in ipairs(redis.call('HKEYS', KEYS[7])) do
    if not keep[d] then redis.call('HDEL', KEYS[7], d) end
  end
end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'queue', ARGV[8]) end
if status ~= 'running' then redis.call('HSET', KEYS[1], 'lease_owner', '', 'run_id', '') end
if status == 'sleeping' then redis.call('ZADD', KEYS[5], ARGV[6], id) end
if status == 'ready' then redis.call('XADD', KEYS[6], '*', 'wf', id) end
return taken
"""

# KEYS: wf hash, chunks hash; ARGV: run_id, status, result, error, now
_FINISH = """
if redis.call('HGET', KEYS[1], 'run_id') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'status') ~= 'running' then
  return redis.error_reply('LEASE_LOST')
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'result', ARGV[3], 'error', ARGV[4], 'updated', ARGV[5],
           'lease_owner', '', 'run_id', '')
if ARGV[2] == 'done' then
  redis.call('HSET', KEYS[1], 'state', '', 'inbox', '')
  redis.call('DEL', KEYS[2])
end
return 1
"""

# KEYS: wf hash, signal list, queue stream; ARGV: name, value, now
_SIGNAL = """
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return redis.error_reply('UNKNOWN') end
if st == 'done' or st == 'failed' then return redis.error_reply('FINISHED ' .. st) end
if st == 'waiting' and redis.call('HGET', KEYS[1], 'waiting_for') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'status', 'ready', 'kind', 'signal', 'inbox', ARGV[2], 'waiting_for', '',
             'wake_at', ARGV[3], 'updated', ARGV[3])
  redis.call('XADD', KEYS[3], '*', 'wf', redis.call('HGET', KEYS[1], 'id'))
else
  redis.call('RPUSH', KEYS[2], ARGV[2])
end
return 1
"""

# KEYS: timers zset, queue stream; ARGV: now. Moves due sleepers to the stream.
_WAKE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('XADD', KEYS[2], '*', 'wf', id)
end
return #due
"""


# KEYS: wf hash; ARGV: run_id, lease_until
_RENEW = """
if redis.call('HGET', KEYS[1], 'run_id') == ARGV[1] then redis.call('HSET', KEYS[1], 'lease_until', ARGV[2]) end
return 1
"""


class RedisWorkflows:
    """The workflows of an app on the Redis server at `url` (keys under its prefix)."""

    def __init__(self, url: str, clock: Any = time.time) -> None:
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        prefixes = [v for k, v in query if k == "prefix"]
        self.prefix = prefixes[-1] if prefixes else "tmweb:"
        clean = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k != "prefix"])))
        self.url = urlunsplit(parts._replace(netloc=parts.hostname or "", query=""))
        self.clock = clock
        self._clean_url = clean
        self._client: aioredis.Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._groups: set[str] = set()
        #: run id -> (queue, stream entry id, workflow id) of the runs this process claimed
        self._entries: dict[str, tuple[str, bytes, str]] = {}
        self._buffer: dict[str, list[bytes]] = {}

    def __repr__(self) -> str:
        return f"RedisWorkflows({self.url!r})"

    @property
    def r(self) -> aioredis.Redis:
        """The client of the running event loop: a redis.asyncio client belongs to the loop
        it first ran on, so another loop (a test client's) gets a fresh one."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            self._client = aioredis.Redis.from_url(self._clean_url, decode_responses=False)
            self._loop = loop
            self._claim = self._client.register_script(_CLAIM)
            self._save = self._client.register_script(_SAVE)
            self._finish = self._client.register_script(_FINISH)
            self._signal = self._client.register_script(_SIGNAL)
            self._wake = self._client.register_script(_WAKE)
            self._renew = self._client.register_script(_RENEW)
        return self._client

    def _script(self, name: str, keys: list[Any], args: list[Any]) -> Any:
        """Run one of the Lua scripts on the running loop's client."""
        client = self.r
        return getattr(self, name)(keys=keys, args=args, client=client)

    # -- keys ---------------------------------------------------------------------------
    def _wf(self, wf_id: str) -> str:
        return f"{self.prefix}wf:{wf_id}"

    def _stream(self, queue: str) -> str:
        return f"{self.prefix}wfq:{queue}"

    def _timers(self, queue: str) -> str:
        return f"{self.prefix}wft:{queue}"

    def _signals(self, wf_id: str, name: str) -> str:
        return f"{self.prefix}wf:{wf_id}:sig:{name}"

    # -- the Backend interface ---------------------------------------------------------

    async def create(self, row: WorkflowRow) -> None:
        now = self.clock()
        async with self._errors():
            async with self.r.pipeline(transaction=True) as p:
                p.hset(self._wf(row.id), mapping={
                    "id": row.id, "queue": row.queue, "fn": row.fn, "status": "ready", "kind": "start",
                    "state": row.state or b"", "inbox": b"", "wake_at": now, "created": now, "updated": now,
                    "checkpoint_bytes": len(row.state or b""), "checkpoints": 0, "claims": 0,
                })  # fmt: skip
                p.zadd(f"{self.prefix}wf-index", {row.id: now})
                p.xadd(self._stream(row.queue), {"wf": row.id})
                await p.execute()

    async def get(self, wf_id: str) -> WorkflowRow:
        async with self._errors():
            h = await self.r.hgetall(self._wf(wf_id))
            if not h:
                raise UnknownWorkflow(wf_id)
            row = _row(h)
            row.steps = [s.decode() for s in await self.r.lrange(self._wf(wf_id) + ":steporder", 0, -1)]
            return row

    async def list(self, status: str | None = None, limit: int = 100) -> list[WorkflowRow]:
        out: list[WorkflowRow] = []
        async with self._errors():
            ids = await self.r.zrevrange(f"{self.prefix}wf-index", 0, -1)
            for i in range(0, len(ids), 200):
                async with self.r.pipeline(transaction=False) as p:
                    for wf_id in ids[i : i + 200]:
                        p.hgetall(self._wf(wf_id.decode()))
                    for h in await p.execute():
                        if h and (status is None or h.get(b"status", b"").decode() == status):
                            out.append(_row(h))
                            if len(out) >= limit:
                                return out
        return out

    async def claim(self, queue: str, worker: str, lease: float) -> WorkflowRow | None:
        """The next workflow of `queue` this worker may run: due sleepers are moved to the
        stream, entries of dead workers (idle past the lease) are taken over, then new
        entries are read. An entry whose workflow is done, failed, waiting or asleep is
        acknowledged away; one whose workflow another worker's live lease holds stays
        pending (XAUTOCLAIM brings it back if that worker dies)."""
        stream = self._stream(queue)
        try:
            return await self._claim_from(stream, queue, worker, lease)
        except redis.exceptions.ResponseError as e:
            if "NOGROUP" not in str(e):
                raise
            self._groups.clear()  # Redis restarted without its data: make the groups again
            return None

    async def _claim_from(self, stream: str, queue: str, worker: str, lease: float) -> WorkflowRow | None:
        async with self._errors():
            await self._ensure_group(stream)
            now = self.clock()
            await self._script("_wake", keys=[self._timers(queue), stream], args=[now])
            buf = self._buffer.setdefault(queue, [])
            if not buf:
                res = await self.r.xautoclaim(stream, GROUP, worker, int(lease * 1000), "0-0", count=10)
                buf.extend(e for e, fields in res[1] if fields)
                for gone in res[2] if len(res) > 2 else []:  # deleted while pending
                    await self.r.xack(stream, GROUP, gone)
            if not buf:
                got = await self.r.xreadgroup(GROUP, worker, {stream: ">"}, count=10)
                for _, entries in got or []:
                    buf.extend(e for e, _ in entries)
            while buf:
                entry = buf.pop(0)
                fields = await self.r.xrange(stream, entry, entry)
                if not fields:
                    await self.r.xack(stream, GROUP, entry)
                    continue
                wf_id = fields[0][1][b"wf"].decode()
                run_id = uuid.uuid4().hex
                now = self.clock()
                args = [worker, now + lease, run_id, now, MAX_TRIES, poisoned(MAX_TRIES)]
                got = await self._script("_claim", keys=[self._wf(wf_id)], args=args)
                if got == 1:
                    self._entries[run_id] = (queue, entry, wf_id)
                    # its idle time counts from now, after the lease was written
                    await self.r.xclaim(stream, GROUP, worker, 0, [entry], justid=True)
                    return await self.get(wf_id)
                if got == 0:
                    await self._ack(stream, entry)  # finished, waiting or asleep: obsolete
        return None

    async def ack(self, row: WorkflowRow, outcome: str) -> None:
        """The run of `row` is over: its entry leaves the pending list, unless the lease was
        lost (the entry is the other worker's now)."""
        queue_entry = self._entries.pop(row.run_id or "", None)
        if queue_entry is None or outcome in ("lost", "unavailable"):
            return
        async with self._errors():
            await self._ack(self._stream(queue_entry[0]), queue_entry[1])

    async def _ack(self, stream: str, entry: bytes) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.xack(stream, GROUP, entry)
            p.xdel(stream, entry)
            await p.execute()

    async def renew(self, worker: str, run_ids: list[str], lease: float) -> None:
        until = self.clock() + lease
        async with self._errors():
            for run_id in run_ids:
                qe = self._entries.get(run_id)
                if qe is None:
                    continue
                # the lease first, then the entry's idle time (which XAUTOCLAIM goes by):
                # an entry idle for a lease always has a lease that ran out
                await self._script("_renew", keys=[self._wf(qe[2])], args=[run_id, until])
                await self.r.xclaim(self._stream(qe[0]), GROUP, worker, 0, [qe[1]], justid=True)

    async def save(self, wf_id: str, run_id: str, save: Save) -> bytes | None:
        row_queue = save.queue or (await self.r.hget(self._wf(wf_id), "queue") or b"default").decode()
        keys = [
            self._wf(wf_id), self._wf(wf_id) + ":steps", self._wf(wf_id) + ":steporder",
            self._signals(wf_id, save.waiting_for or ""), self._timers(row_queue), self._stream(row_queue),
            self._wf(wf_id) + ":chunks",
        ]  # fmt: skip
        step_name, step_value = save.step if save.step is not None else ("", b"")
        args = [run_id, save.status, save.state, save.checkpoint, self.clock(), save.wake_at or self.clock(),
                save.waiting_for or "", save.queue or "", step_name, step_value, "1" if save.step else "0",
                save.size or len(save.state)]  # fmt: skip
        if save.chunks is None:
            args.append("whole")
        else:
            args += ["inc", len(save.chunks)]
            for d, c in save.chunks:
                args += [d, c]
            args += list(save.keep or ())
        async with self._errors(wf_id):
            if save.queue:
                await self._ensure_group(self._stream(save.queue))
            taken = await self._script("_save", keys=keys, args=args)
        return taken if taken else None

    async def finish(self, wf_id: str, run_id: str, result: bytes | None, error: str | None) -> None:
        status = "failed" if error is not None else "done"
        async with self._errors(wf_id):
            await self._script("_finish", keys=[self._wf(wf_id), self._wf(wf_id) + ":chunks"], args=[run_id, status, result or b"", error or "", self.clock()])

    async def chunks(self, wf_id: str, digests: list[bytes]) -> dict[bytes, bytes]:
        async with self._errors():
            values = await self.r.hmget(self._wf(wf_id) + ":chunks", digests) if digests else []
            return {d: v for d, v in zip(digests, values) if v is not None}

    async def step_result(self, wf_id: str, name: str) -> bytes | None:
        async with self._errors():
            v: bytes | None = await self.r.hget(self._wf(wf_id) + ":steps", name)
            return v

    async def signal(self, wf_id: str, name: str, value: bytes) -> None:
        async with self._errors():
            queue = await self.r.hget(self._wf(wf_id), "queue")
            stream = self._stream((queue or b"default").decode())
            try:
                await self._script("_signal", keys=[self._wf(wf_id), self._signals(wf_id, name), stream], args=[name, value, self.clock()])
            except redis.exceptions.ResponseError as e:
                if str(e).startswith("UNKNOWN"):
                    raise UnknownWorkflow(wf_id) from None
                if str(e).startswith("FINISHED"):
                    raise WorkflowFinished(wf_id, str(e).split()[1]) from None
                raise

    async def retry(self, wf_id: str) -> None:
        row = await self.get(wf_id)
        if row.status != "failed" or not row.state:
            raise WorkflowError(f"workflow {wf_id} is {row.status}; only a failed workflow that has a checkpoint can be retried")
        async with self._errors():
            async with self.r.pipeline(transaction=True) as p:
                p.hset(self._wf(wf_id), mapping={"status": "ready", "error": "", "tries": 0, "updated": self.clock()})
                p.xadd(self._stream(row.queue), {"wf": wf_id})
                await p.execute()

    async def next_wake(self, queue: str) -> float | None:
        async with self._errors():
            first = await self.r.zrange(self._timers(queue), 0, 0, withscores=True)
            return float(first[0][1]) if first else None

    async def fail(self, wf_id: str, error: str) -> None:
        async with self._errors():
            await self.r.hset(self._wf(wf_id), mapping={"status": "failed", "error": error, "run_id": ""})

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            await client.aclose()

    # -- helpers -------------------------------------------------------------------------

    async def _ensure_group(self, stream: str) -> None:
        if stream in self._groups:
            return
        try:
            await self.r.xgroup_create(stream, GROUP, id="0", mkstream=True)
        except redis.exceptions.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise
        self._groups.add(stream)

    def _errors(self, wf_id: str = "") -> _Errors:
        return _Errors(self.url, wf_id)


class _Errors:
    """Redis failures as the runtime's errors: connection problems are
    `WorkflowUnavailable` (a worker waits and tries again), a fencing refusal `LeaseLost`."""

    def __init__(self, url: str, wf_id: str) -> None:
        self.url = url
        self.wf_id = wf_id

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is None:
            return False
        if isinstance(exc, redis.exceptions.ResponseError) and "LEASE_LOST" in str(exc):
            raise LeaseLost(self.wf_id) from None
        if isinstance(exc, (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)):
            raise WorkflowUnavailable(f"the workflow store at {self.url} is unavailable: {exc}") from exc
        return False


def _row(h: dict[bytes, bytes]) -> WorkflowRow:
    kw: dict[str, Any] = {}
    for name in _FIELDS:
        v = h.get(name.encode())
        if name in _BLOBS:
            kw[name] = v or None
        elif name in _FLOATS:
            kw[name] = float(v) if v else (None if name == "lease_until" else 0.0)
        elif name in _INTS:
            kw[name] = int(v) if v else 0
        else:
            kw[name] = v.decode() if v else None
    kw["fn"] = kw["fn"] or ""
    kw["queue"] = kw["queue"] or "default"
    kw["status"] = kw["status"] or "ready"
    kw["kind"] = kw["kind"] or "start"
    return WorkflowRow(**kw)
