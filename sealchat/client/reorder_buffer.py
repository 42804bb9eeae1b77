"""Per-room ordering for a client: every message once, in ``seq`` order, no gaps.

Live events, acks of our own sends and sync replies can arrive in any order. A message
is released only when it is the next one after the room's cursor; anything further
ahead is held until the gap is filled (the client syncs to fill it).
"""

from __future__ import annotations

from typing import Any

Message = dict[str, Any]


class ReorderBuffer:
    def __init__(self) -> None:
        self.cursors: dict[str, int] = {}
        self._held: dict[str, dict[int, Message]] = {}

    def start_at(self, room_id: str, last_seq: int) -> None:
        """Track a room from ``last_seq`` on (history before it is not "missed")."""
        if room_id not in self.cursors:
            self.cursors[room_id] = last_seq

    def forget(self, room_id: str) -> None:
        self.cursors.pop(room_id, None)
        self._held.pop(room_id, None)

    def accept(self, message: Message) -> list[Message]:
        """Take one message; return those now ready, in order (maybe none)."""
        room_id, seq = message["room_id"], int(message["seq"])
        cursor = self.cursors.setdefault(room_id, seq - 1)
        if seq <= cursor:
            return []
        held = self._held.setdefault(room_id, {})
        held.setdefault(seq, message)
        ready: list[Message] = []
        while cursor + 1 in held:
            cursor += 1
            ready.append(held.pop(cursor))
        self.cursors[room_id] = cursor
        if not held:
            del self._held[room_id]
        return ready

    def has_gap(self) -> bool:
        """True while some room holds messages beyond a missing one."""
        return bool(self._held)
