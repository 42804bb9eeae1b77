"""Per-user token buckets in this process: sends, syncs, typing notices (one node).

The ``RateLimiter`` port in memory; adapters/redis_rate_limit.py shares the buckets
between nodes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sealchat.domain.errors import RateLimited


class TokenBucketLimiter:
    def __init__(
        self,
        rate_per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_tracked: int = 100_000,
        *,
        what: str = "messages",
    ) -> None:
        self._rate = rate_per_second
        self._burst = float(burst)
        self._clock = clock
        self._max_tracked = max_tracked
        self._what = what  # named in the refusal: "too many {what}"
        # user id -> (tokens left, time of last refill)
        self._buckets: dict[str, tuple[float, float]] = {}

    async def take(self, key: str) -> None:
        """The ``RateLimiter`` port: ``check`` (no waiting involved)."""
        self.check(key)

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited``."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            retry_after = (1.0 - tokens) / self._rate
            raise RateLimited(
                f"too many {self._what}; retry in {retry_after:.1f} s", retry_after=retry_after
            )
        if key not in self._buckets and len(self._buckets) >= self._max_tracked:
            self._forget_full_buckets(now)
        self._buckets[key] = (tokens - 1.0, now)

    def _forget_full_buckets(self, now: float) -> None:
        """Drop buckets that have refilled completely: they hold no information."""
        full_after = self._burst / self._rate
        self._buckets = {
            key: (tokens, last)
            for key, (tokens, last) in self._buckets.items()
            if now - last < full_after
        }
