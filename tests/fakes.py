"""In-memory fakes of the ports, for unit tests of the services."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

from sealchat.domain.errors import RoomNameTaken
from sealchat.domain.models import (
    AppendResult,
    DirectoryEntry,
    Invitation,
    Member,
    Message,
    MyRoom,
    NewMessage,
    RelationType,
    Role,
    Room,
    User,
    Visibility,
)
from sealchat.domain.relations import (
    ERASED_WITH_TARGET,
    Target,
    deletion_refusal,
    relation_refusal,
)


class MemoryStore:
    """Implements UserStore, RoomStore and MessageStore over dicts."""

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.rooms: dict[str, Room] = {}
        self.dm_keys: dict[str, str] = {}
        self.members: dict[str, dict[str, tuple[Role, datetime]]] = {}
        self.messages: dict[str, list[Message]] = {}
        # (room_id, invitee_id) -> (inviter_id, created_at)
        self.invitations: dict[tuple[str, str], tuple[str, datetime]] = {}

    # UserStore
    async def upsert_user(self, user: User) -> None:
        self.users[user.id] = user

    async def get_user(self, user_id: str) -> User | None:
        return self.users.get(user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username), None)

    # RoomStore
    async def create_room(self, room: Room, owner_id: str) -> Room:
        if room.visibility is Visibility.PUBLIC and any(
            r.visibility is Visibility.PUBLIC and r.name.lower() == room.name.lower()
            for r in self.rooms.values()
        ):
            raise RoomNameTaken(f"a public room named {room.name!r} already exists")
        self.rooms[room.id] = room
        self.members[room.id] = {owner_id: (Role.OWNER, datetime.now(UTC))}
        self.messages[room.id] = []
        return room

    async def get_or_create_direct_room(
        self, room: Room, dm_key: str, member_ids: list[str]
    ) -> tuple[Room, bool]:
        if dm_key in self.dm_keys:
            return self.rooms[self.dm_keys[dm_key]], False
        self.dm_keys[dm_key] = room.id
        self.rooms[room.id] = room
        self.members[room.id] = {uid: (Role.MEMBER, datetime.now(UTC)) for uid in member_ids}
        self.messages[room.id] = []
        return room, True

    async def get_room(self, room_id: str) -> Room | None:
        return self.rooms.get(room_id)

    async def list_user_rooms(self, user_id: str) -> list[MyRoom]:
        return [
            MyRoom(self.rooms[rid], roles[user_id][0])
            for rid, roles in self.members.items()
            if user_id in roles
        ]

    async def list_user_room_ids(self, user_id: str) -> list[str]:
        return [rid for rid, roles in self.members.items() if user_id in roles]

    async def list_public_rooms(self, limit: int) -> list[DirectoryEntry]:
        public = [r for r in self.rooms.values() if r.visibility is Visibility.PUBLIC]
        public.sort(key=lambda r: (r.name.lower(), r.name, r.id))
        return [DirectoryEntry(r, len(self.members[r.id]), self._owner(r.id)) for r in public][
            :limit
        ]

    async def get_role(self, room_id: str, user_id: str) -> Role | None:
        entry = self.members.get(room_id, {}).get(user_id)
        return entry[0] if entry else None

    async def add_member(self, room_id: str, user_id: str, role: Role) -> bool:
        if user_id in self.members[room_id]:
            return False
        self.members[room_id][user_id] = (role, datetime.now(UTC))
        return True

    async def remove_member(self, room_id: str, user_id: str) -> bool:
        removed = self.members.get(room_id, {}).pop(user_id, None) is not None
        room = self.rooms.get(room_id)
        # Archived when nobody is left (not a direct room): gone from sight, its name free.
        if (
            removed
            and room
            and room.visibility is not Visibility.DIRECT
            and not self.members[room_id]
        ):
            del self.rooms[room_id]
        return removed

    async def set_role(self, room_id: str, user_id: str, role: Role) -> None:
        _, joined = self.members[room_id][user_id]
        self.members[room_id][user_id] = (role, joined)

    async def list_members(self, room_id: str) -> list[Member]:
        entries = sorted(self.members[room_id].items(), key=lambda kv: kv[1][1])
        return [Member(self.users[uid], role, joined) for uid, (role, joined) in entries]

    def _owner(self, room_id: str) -> User | None:
        owners = [m for m in self.members[room_id].items() if m[1][0] is Role.OWNER]
        owners.sort(key=lambda kv: kv[1][1])
        return self.users[owners[0][0]] if owners else None

    async def create_invitation(
        self, room_id: str, invitee_id: str, inviter_id: str, created_at: datetime
    ) -> bool:
        if (room_id, invitee_id) in self.invitations:
            return False
        self.invitations[(room_id, invitee_id)] = (inviter_id, created_at)
        return True

    async def get_invitation(self, room_id: str, invitee_id: str) -> Invitation | None:
        entry = self.invitations.get((room_id, invitee_id))
        if entry is None or room_id not in self.rooms:  # none, or the room is archived
            return None
        inviter_id, created_at = entry
        return Invitation(
            room=self.rooms[room_id],
            invitee=self.users[invitee_id],
            inviter=self.users[inviter_id],
            created_at=created_at,
            owner=self._owner(room_id),
            member_count=len(self.members[room_id]),
        )

    async def list_invitations(self, invitee_id: str) -> list[Invitation]:
        found = [
            await self.get_invitation(room_id, uid)
            for room_id, uid in self.invitations
            if uid == invitee_id
        ]
        return sorted((i for i in found if i is not None), key=lambda i: i.created_at)

    async def delete_invitation(self, room_id: str, invitee_id: str) -> bool:
        return self.invitations.pop((room_id, invitee_id), None) is not None

    async def accept_invitation(self, room_id: str, invitee_id: str, role: Role) -> bool:
        if not await self.delete_invitation(room_id, invitee_id):
            return False
        await self.add_member(room_id, invitee_id, role)
        return True

    # MessageStore
    async def append_message(self, new: NewMessage) -> AppendResult | None:
        if await self.get_role(new.room_id, new.sender_id) is None:
            return None
        stored = self.messages[new.room_id]
        for message in stored:
            if (message.sender_id, message.client_msg_id) == (new.sender_id, new.client_msg_id):
                return AppendResult(message, created=False)
        if new.relates_to is not None:
            target = self._target(new.room_id, new.relates_to.message_id)
            refusal = relation_refusal(new.sender_id, new.relates_to, target)
            if refusal is not None:
                raise refusal
        return AppendResult(self._store(new), created=True)

    async def delete_message(
        self, marker: NewMessage, target_id: str, *, as_owner: bool
    ) -> AppendResult | None:
        if await self.get_role(marker.room_id, marker.sender_id) is None:
            return None
        target = self._target(marker.room_id, target_id)
        refusal = deletion_refusal(marker.sender_id, target, as_owner=as_owner)
        if refusal is not None:
            raise refusal
        stored = self.messages[marker.room_id]
        if target is not None and target.deleted:
            first = next(
                m
                for m in stored
                if m.relates_to is not None
                and m.relates_to.type is RelationType.DELETE
                and m.relates_to.message_id == target_id
            )
            return AppendResult(first, created=False)
        for index, message in enumerate(stored):
            related = message.relates_to
            if message.id == target_id or (
                related is not None
                and related.message_id == target_id
                and related.type.value in ERASED_WITH_TARGET
            ):
                stored[index] = dataclasses.replace(message, envelope_json=None, deleted=True)
        return AppendResult(self._store(marker), created=True)

    def _target(self, room_id: str, message_id: str) -> Target | None:
        for message in self.messages.get(room_id, []):
            if message.id == message_id:
                kind = None if message.relates_to is None else message.relates_to.type.value
                return Target(message.sender_id, kind, message.deleted)
        return None

    def _store(self, new: NewMessage) -> Message:
        room = self.rooms[new.room_id]
        room = dataclasses.replace(room, last_seq=room.last_seq + 1)
        self.rooms[room.id] = room
        message = Message(
            new.id,
            new.room_id,
            room.last_seq,
            new.sender_id,
            new.client_msg_id,
            new.envelope_json,
            datetime.now(UTC),
            relates_to=new.relates_to,
        )
        self.messages[new.room_id].append(message)
        return message

    async def list_messages(
        self,
        room_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[Message]:
        stored = self.messages.get(room_id, [])
        if after_seq is not None:
            return [m for m in stored if m.seq > after_seq][:limit]
        older = [m for m in stored if before_seq is None or m.seq < before_seq]
        return older[-limit:]


class RecordingFanout:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any], list[str], str | None]] = []
        self.subscriptions: list[tuple[str, str, str]] = []

    async def publish(
        self, event: str, payload: dict[str, Any], channels: list[str], skip: str | None = None
    ) -> None:
        self.published.append((event, payload, channels, skip))

    async def publish_each(
        self,
        event: str,
        payloads: list[dict[str, Any]],
        channels: list[str],
        skip: str | None = None,
    ) -> None:
        for payload in payloads:
            await self.publish(event, payload, channels, skip)

    def publish_now(
        self, event: str, payload: dict[str, Any], channels: list[str], skip: str | None = None
    ) -> bool:
        return False  # always the awaited path: publish records it

    async def subscribe_user(self, user_id: str, room_id: str) -> None:
        self.subscriptions.append(("subscribe", user_id, room_id))

    async def unsubscribe_user(self, user_id: str, room_id: str) -> None:
        self.subscriptions.append(("unsubscribe", user_id, room_id))

    def events(self, name: str) -> list[dict[str, Any]]:
        return [payload for event, payload, _, _ in self.published if event == name]
