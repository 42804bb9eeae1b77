"""Presence shared by nodes in Redis: per node, a hash of user id -> open sockets.

Each node counts its own sockets in ``{prefix}node:{node_id}`` and says it is alive in
the sorted set ``{prefix}nodes`` (score: Redis's clock at its last heartbeat). A user is
online when some live node counts a socket of theirs. A node that dies stops beating: after
``ttl`` seconds its hash expires and it drops out of the set, so its sockets do not keep
anyone online forever. Each count and its answer are one Lua script (atomic, one round
trip). The scripts name keys they compute (one Redis, not Redis Cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sealchat.domain.errors import Unavailable

log = logging.getLogger(__name__)

# KEYS[1]: the nodes set. ARGV: prefix, node id, user id, delta, ttl (s).
# Counts the socket, beats for this node, forgets dead nodes; returns the user's total.
_COUNT = """
local now = tonumber(redis.call('TIME')[1])
local prefix, node, user = ARGV[1], ARGV[2], ARGV[3]
local delta, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local mine = prefix .. 'node:' .. node
if delta ~= 0 then
  redis.call('ZADD', KEYS[1], now, node)
  local count = redis.call('HINCRBY', mine, user, delta)
  if count <= 0 then redis.call('HDEL', mine, user) end
  redis.call('EXPIRE', mine, ttl)
end
local total = 0
for _, other in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], now - ttl, '+inf')) do
  total = total + tonumber(redis.call('HGET', prefix .. 'node:' .. other, user) or '0')
end
return total
"""

# KEYS[1]: the nodes set. ARGV: prefix, node id, ttl.
_BEAT = """
local now = tonumber(redis.call('TIME')[1])
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('EXPIRE', ARGV[1] .. 'node:' .. ARGV[2], tonumber(ARGV[3]))
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 4 * tonumber(ARGV[3]))
return 1
"""


class RedisPresence:
    """The ``Presence`` port across nodes; ``running()`` keeps this node's heartbeat."""

    def __init__(self, redis: Redis, *, ttl_seconds: int = 30, prefix: str = "sealchat:presence:"):
        self._redis = redis
        self._ttl = ttl_seconds
        self._prefix = prefix
        self.node_id = uuid.uuid4().hex
        self._count: Any = redis.register_script(_COUNT)
        self._beat: Any = redis.register_script(_BEAT)

    async def _total(self, user_id: str, delta: int) -> int:
        try:
            total = await self._count(
                keys=[self._prefix + "nodes"],
                args=[self._prefix, self.node_id, user_id, delta, self._ttl],
            )
        except RedisError as exc:
            raise Unavailable("presence is unavailable (Redis)") from exc
        return int(total)

    async def socket_opened(self, user_id: str) -> bool:
        return await self._total(user_id, 1) == 1

    async def socket_closed(self, user_id: str) -> bool:
        return await self._total(user_id, -1) == 0

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        users = list(dict.fromkeys(user_ids))
        totals = await asyncio.gather(*(self._total(user, 0) for user in users))
        return {user for user, total in zip(users, totals, strict=True) if total > 0}

    async def beat(self) -> None:
        await self._beat(
            keys=[self._prefix + "nodes"], args=[self._prefix, self.node_id, self._ttl]
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RedisPresence]:
        """Beat every third of the ttl while the block runs; forget this node after it."""

        async def beat_forever() -> None:
            while True:
                try:
                    await self.beat()
                except RedisError:
                    log.warning("presence heartbeat to Redis failed", exc_info=True)
                await asyncio.sleep(self._ttl / 3)

        task = asyncio.ensure_future(beat_forever())
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(RedisError):
                await self._redis.zrem(self._prefix + "nodes", self.node_id)
                await self._redis.delete(f"{self._prefix}node:{self.node_id}")
