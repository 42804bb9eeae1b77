"""Token buckets shared by nodes: one Redis hash per key, refilled and taken in Lua.

The same buckets as services/rate_limit.py (``rate`` tokens per second up to ``burst``),
so a user's limit is the same whichever node, or how many nodes, they talk to. Redis's
clock is the only clock; a bucket expires once it would be full again.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from sealchat.domain.errors import RateLimited, Unavailable

# KEYS[1]: the bucket. ARGV: rate per second, burst. Returns "" (taken) or the seconds to
# wait (a string: Lua numbers become integers in replies).
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = ''
if tokens < 1 then
  wait = tostring((1 - tokens) / rate)
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return wait
"""


class RedisTokenBucketLimiter:
    """The ``RateLimiter`` port across nodes."""

    def __init__(
        self,
        redis: Redis,
        rate_per_second: float,
        burst: int,
        *,
        what: str = "messages",
        prefix: str = "sealchat:rate:",
    ) -> None:
        self._rate = rate_per_second
        self._burst = burst
        self._what = what
        self._prefix = f"{prefix}{what.replace(' ', '-')}:"
        self._take: Any = redis.register_script(_TAKE)

    async def take(self, key: str) -> None:
        try:
            wait = await self._take(keys=[self._prefix + key], args=[self._rate, self._burst])
        except RedisError as exc:
            raise Unavailable("rate limits are unavailable (Redis)") from exc
        if wait:
            retry_after = float(wait)
            raise RateLimited(
                f"too many {self._what}; retry in {retry_after:.1f} s", retry_after=retry_after
            )
