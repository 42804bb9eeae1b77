"""Rate-limit port: a token bucket per key (a user id), in process or shared by nodes."""

from __future__ import annotations

from typing import Protocol


class RateLimiter(Protocol):
    async def take(self, key: str) -> None:
        """Take one token for ``key`` or raise ``RateLimited`` (with ``retry_after``)."""
