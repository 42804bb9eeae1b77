"""Read state: each member's read marker per room, unread counts, "seen by".

A marker only moves forward. When it moves, the reader's sockets hear ``read:updated``,
so a second device of the same person clears its badge at once; nobody else does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sealchat.domain.models import Member, MyRoom, User
from sealchat.ports.fanout import Fanout, user_channel
from sealchat.ports.storage import ReadMarkerStore
from sealchat.services import events
from sealchat.services.rooms import RoomService

# Above this many members a room shows nobody's read marker ("seen by" is for small rooms).
SEEN_BY_MAX_MEMBERS = 50


@dataclass(frozen=True, slots=True)
class ReadMarker:
    room_id: str
    last_read_seq: int
    unread: int


class ReadStateService:
    def __init__(self, markers: ReadMarkerStore, rooms: RoomService, fanout: Fanout) -> None:
        self._markers = markers
        self._rooms = rooms
        self._fanout = fanout

    async def mark_read(self, actor: User, room_id: str, seq: int) -> ReadMarker:
        """Move the actor's marker in the room forward to ``seq`` (never back, never past
        the room's last message)."""
        await self._rooms.require_member(actor.id, room_id)
        found = await self._markers.mark_read(room_id, actor.id, seq)
        if found is None:
            # Left the room in between: the same error as any room operation.
            await self._rooms.require_member(actor.id, room_id)
            found = (0, False)  # pragma: no cover - a race
        marker, moved = found
        if moved:
            await self._fanout.publish(
                events.READ_UPDATED,
                {"room_id": room_id, "seq": marker},
                [user_channel(actor.id)],
            )
        unread = await self._markers.unread(room_id, actor.id, marker)
        return ReadMarker(room_id=room_id, last_read_seq=marker, unread=unread)

    async def my_rooms(self, actor: User) -> list[MyRoom]:
        """The actor's rooms with their read markers and unread counts."""
        mine = await self._rooms.my_rooms(actor)
        state = await self._markers.read_state(actor.id)
        return [
            replace(r, last_read_seq=state[r.room.id][0], unread=state[r.room.id][1])
            if r.room.id in state
            else r
            for r in mine
        ]

    async def members(self, actor: User, room_id: str) -> list[Member]:
        """The room's members, with their read markers when the room is small enough."""
        members = await self._rooms.members(actor, room_id)
        if len(members) > SEEN_BY_MAX_MEMBERS:
            return members
        markers = await self._markers.markers(room_id)
        return [replace(m, last_read_seq=markers.get(m.user.id, 0)) for m in members]
