"""Who is online: a count of open sockets per user, in this process (one node)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable


class PresenceTracker:
    """The ``Presence`` port in memory; adapters/redis_presence.py shares it between nodes."""

    def __init__(self) -> None:
        self._sockets: Counter[str] = Counter()

    async def socket_opened(self, user_id: str) -> bool:
        self._sockets[user_id] += 1
        return self._sockets[user_id] == 1

    async def socket_closed(self, user_id: str) -> bool:
        if self._sockets[user_id] <= 1:
            del self._sockets[user_id]
            return True
        self._sockets[user_id] -= 1
        return False

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        return {user_id for user_id in user_ids if self._sockets.get(user_id, 0) > 0}
