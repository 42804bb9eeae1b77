"""Who is online: a count of open sockets per user on this node."""

from __future__ import annotations

from collections import Counter


class PresenceTracker:
    def __init__(self) -> None:
        self._sockets: Counter[str] = Counter()

    def socket_opened(self, user_id: str) -> bool:
        """Count a socket; True when it is the user's first (the user came online)."""
        self._sockets[user_id] += 1
        return self._sockets[user_id] == 1

    def socket_closed(self, user_id: str) -> bool:
        """Uncount a socket; True when it was the user's last (the user went offline)."""
        if self._sockets[user_id] <= 1:
            del self._sockets[user_id]
            return True
        self._sockets[user_id] -= 1
        return False

    def is_online(self, user_id: str) -> bool:
        return self._sockets[user_id] > 0
