"""The client core: everything a Sealchat client knows, updated without any network I/O.

Like matrix-nio's ``Client`` under its ``AsyncClient``: the transports (``rest.py``,
``realtime.py``) fetch and receive, then hand parsed JSON to the methods here, which
update rooms, members, presence, cursors, room timelines, the outbox, read markers and
the sending-key lifecycle. Views (the CLI, a terminal client, bots) read this state or
take a room's message stream. Tests drive it directly with fake events.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sealchat.client.content import ContentError, Relation, parse_content
from sealchat.client.keyring import ClientKeyring
from sealchat.client.models import Member, Message, PendingSend, ReadMarker, Room, User
from sealchat.client.outbox import Outbox
from sealchat.client.reorder_buffer import ReorderBuffer
from sealchat.client.room_timeline import RoomTimeline
from sealchat.client.sealed import OpenedMessage

# How long a "typing" notice counts without a refresh (docs/protocol.md §4.3.3).
TYPING_EXPIRES_AFTER = 6.0


class ClientCore:
    def __init__(
        self,
        *,
        outbox_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user: User | None = None
        self.rooms: dict[str, Room] = {}
        self.members: dict[str, dict[str, Member]] = {}
        self.presence: dict[str, str] = {}  # user id -> "online" | "offline"
        self.read_markers: dict[str, ReadMarker] = {}
        self.buffer = ReorderBuffer()  # cursors: the newest contiguous seq per room
        self.timelines: dict[str, RoomTimeline] = {}
        self.outbox = Outbox(outbox_path)
        self.keyring: ClientKeyring | None = None
        self._clock = clock
        self._typing: dict[str, dict[str, float]] = {}
        self._names: dict[str, str] = {}
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._streams: dict[str, list[asyncio.Queue[Message]]] = {}

    # -- cursors and released messages -----------------------------------------------------

    @property
    def cursors(self) -> dict[str, int]:
        return self.buffer.cursors

    def track_room(self, body: dict[str, Any]) -> Room:
        """A room we are in (from REST or ``room:joined``): follow it from its ``last_seq``."""
        room = Room.from_json(body)
        known = self.rooms.get(room.id)
        if known is not None and known.last_seq > room.last_seq:
            room.last_seq = known.last_seq
        self.rooms[room.id] = room
        self.buffer.start_at(room.id, room.last_seq)
        if room.last_read_seq is not None:
            marker = self.read_markers.get(room.id)
            if marker is None or room.last_read_seq > marker.seq:
                self.read_markers[room.id] = ReadMarker(room.id, room.last_read_seq)
        return room

    def forget_room(self, room_id: str) -> None:
        """We left or were removed: drop the room, its cursor, keys and pending sends."""
        self.rooms.pop(room_id, None)
        self.members.pop(room_id, None)
        self.timelines.pop(room_id, None)
        self.read_markers.pop(room_id, None)
        self._typing.pop(room_id, None)
        self.buffer.forget(room_id)
        self.outbox.drop_room(room_id)
        if self.keyring is not None:
            self.keyring.forget_room(room_id)

    def receive_message(self, message: Message) -> int:
        """A live ``message:new``, an ack of our own send or a synced message; returns how
        many messages this released, in order, to the inbox and the room's streams."""
        ready = self.buffer.accept(message)
        for item in ready:
            room = self.rooms.get(item["room_id"])
            if room is not None and item["seq"] > room.last_seq:
                room.last_seq = int(item["seq"])
                if room.unread is not None and self._counts_as_unread(item):
                    room.unread += 1
            self._inbox.put_nowait(item)
            for queue in self._streams.get(item["room_id"], []):
                queue.put_nowait(item)
        return len(ready)

    def _counts_as_unread(self, message: Message) -> bool:
        """From someone else, and not a relation other than a reply (docs/protocol.md §4.6)."""
        relates_to = message.get("relates_to")
        kind = relates_to.get("type") if isinstance(relates_to, dict) else None
        mine = self.user is not None and message.get("sender_id") == self.user.id
        return not mine and kind in (None, "reply") and not message.get("deleted")

    def receive_sync(self, ack: dict[str, Any]) -> int:
        """One ``sync`` ack: its messages, and rooms that are gone for good."""
        released = sum(self.receive_message(message) for message in ack["messages"])
        for room_id, error in ack.get("errors", {}).items():
            # Gone for good (removed, deleted); a passing failure keeps the cursor.
            if error.get("code") in ("not_found", "forbidden"):
                self.buffer.forget(room_id)
        return released

    def has_gap(self) -> bool:
        return self.buffer.has_gap()

    # -- the streams views read ------------------------------------------------------------

    async def next_message(self, timeout: float | None = 10.0) -> Message:  # noqa: ASYNC109
        """The next message of any room, in order (own sends included)."""
        return await asyncio.wait_for(self._inbox.get(), timeout)

    def pending_messages(self) -> int:
        return self._inbox.qsize()

    async def room_messages(self, room_id: str) -> AsyncIterator[Message]:
        """The room's messages released from now on, in ``seq`` order, until closed."""
        queue: asyncio.Queue[Message] = asyncio.Queue()
        self._streams.setdefault(room_id, []).append(queue)
        try:
            while True:
                yield await queue.get()
        finally:
            self._streams[room_id].remove(queue)
            if not self._streams[room_id]:
                del self._streams[room_id]

    def add_opened(self, opened: OpenedMessage) -> str | None:
        """Put an opened message into its room's timeline (relations applied); returns the
        id of the item that changed. Messages that did not open are not items; deleted
        ones are (shown as deleted), and a deletion marker deletes its target."""
        message = opened.message
        if opened.deletes is not None:
            return self.timeline(message["room_id"]).delete(opened.deletes)
        if opened.deleted:
            relates_to = message.get("relates_to")
            relation = (
                Relation(str(relates_to["type"]), str(relates_to["message_id"]))
                if isinstance(relates_to, dict)
                else None
            )
            return self.timeline(message["room_id"]).add_deleted(
                message["id"], int(message["seq"]), message["sender_id"], relation
            )
        if not opened.ok or opened.content is None:
            return None
        try:
            content = parse_content(opened.content)
        except ContentError:
            return None
        timeline = self.timelines.setdefault(message["room_id"], RoomTimeline())
        return timeline.add(message["id"], int(message["seq"]), message["sender_id"], content)

    def timeline(self, room_id: str) -> RoomTimeline:
        return self.timelines.setdefault(room_id, RoomTimeline())

    # -- members, names, presence, typing --------------------------------------------------

    def set_user(self, body: dict[str, Any] | None) -> None:
        self.user = User.from_json(body) if body else None
        if self.user is not None:
            self._names[self.user.id] = self.user.username

    def receive_members(self, room_id: str, members: list[dict[str, Any]]) -> list[Member]:
        parsed = [Member.from_json(m) for m in members]
        self.members[room_id] = {m.user.id: m for m in parsed}
        for member in parsed:
            self._names[member.user.id] = member.user.username
            self.presence[member.user.id] = "online" if member.online else "offline"
        return parsed

    def member_joined(self, payload: dict[str, Any]) -> None:
        user = User.from_json(payload["user"])
        self._names[user.id] = user.username
        room = self.members.get(payload["room_id"])
        if room is not None:
            room[user.id] = Member(user, str(payload.get("role", "member")))

    def member_left(self, payload: dict[str, Any]) -> None:
        """Someone left or was removed: they saw the room's current data key, so what we
        seal next uses a new one (docs/envelope.md §3.1)."""
        self.members.get(payload["room_id"], {}).pop(payload["user_id"], None)
        if self.keyring is not None:
            self.keyring.retire_sending_key(payload["room_id"])

    def presence_changed(self, payload: dict[str, Any]) -> None:
        self.presence[payload["user_id"]] = str(payload["status"])
        if payload.get("username"):
            self._names[payload["user_id"]] = str(payload["username"])

    def typing_changed(self, payload: dict[str, Any]) -> None:
        typing = self._typing.setdefault(payload["room_id"], {})
        if payload.get("typing", True):
            typing[payload["user_id"]] = self._clock() + TYPING_EXPIRES_AFTER
        else:
            typing.pop(payload["user_id"], None)

    def typing(self, room_id: str) -> list[str]:
        """User ids typing in the room now (a notice counts for a few seconds)."""
        now = self._clock()
        return sorted(u for u, until in self._typing.get(room_id, {}).items() if until > now)

    def name_of(self, user_id: str) -> str | None:
        """A username we have seen for this id, or None."""
        return self._names.get(user_id)

    # -- the connection and the key lifecycle ----------------------------------------------

    def connected(self) -> None:
        """Each (re)connect: someone may have left while we were away (sync does not replay
        ``member:left``), so every room's next message gets a new data key."""
        if self.keyring is not None:
            self.keyring.retire_all_sending_keys()

    # -- the outbox ------------------------------------------------------------------------

    def queue_send(self, room_id: str, client_msg_id: str, envelope: dict[str, Any]) -> None:
        self.outbox.add(PendingSend(room_id, client_msg_id, envelope))

    def send_done(self, client_msg_id: str) -> None:
        self.outbox.done(client_msg_id)

    # -- read markers ----------------------------------------------------------------------

    def mark_read(self, room_id: str, seq: int, unread: int | None = None) -> ReadMarker:
        """Read up to ``seq`` (here, from the server's answer, or another device's
        ``read:updated``); a marker never moves back. ``unread`` is the server's count."""
        current = self.read_markers.get(room_id)
        if current is None or seq > current.seq:
            current = ReadMarker(room_id, seq)
            self.read_markers[room_id] = current
        room = self.rooms.get(room_id)
        if room is not None:
            if unread is not None:
                room.unread = unread
            elif room.last_seq <= current.seq:
                room.unread = 0
            room.last_read_seq = current.seq
        return current

    def unread(self, room_id: str) -> int:
        """How many messages of the room are unread: the server's count (from
        ``GET /api/rooms`` or the last read marker's answer) when known, else the
        messages newer than the read marker."""
        room = self.rooms.get(room_id)
        if room is None:
            return 0
        if room.unread is not None:
            return room.unread
        marker = self.read_markers.get(room_id)
        return max(0, room.last_seq - (marker.seq if marker else 0))
