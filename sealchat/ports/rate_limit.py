"""Rate-limit port: a token bucket per key (a user id), in process or shared by nodes."""

from __future__ import annotations

from typing import Protocol, runtime_checkable


class RateLimiter(Protocol):
    async def take(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited`` (with ``retry_after``)."""


@runtime_checkable
class InstantRateLimiter(Protocol):
    """A limiter whose buckets are in this process: taking a token never waits."""

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited`` (with ``retry_after``)."""
