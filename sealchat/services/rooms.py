"""Rooms and membership: create, join, leave, invite and remove members, direct rooms.

Every operation is authorized here. A private or direct room is invisible to
non-members (``not_found``), so room ids cannot be probed.

Nobody is put into a room without consent: adding someone creates an invitation,
and only the invitee's accepting it makes them a member (as in Matrix). Otherwise
anyone could drop a person into a room named like one they trust and read what
they send there.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sealchat.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, SealchatError
from sealchat.domain.models import (
    DirectoryEntry,
    Invitation,
    Member,
    MyRoom,
    Role,
    Room,
    User,
    Visibility,
)
from sealchat.domain.rules import direct_room_key, normalize_room_name, normalize_username
from sealchat.ports.fanout import Fanout, room_channel, user_channel
from sealchat.ports.key_access import KeyAccessRevoker
from sealchat.ports.storage import RoomStore, UserStore
from sealchat.services import events

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class InviteResult:
    """``status`` is ``invited`` (new), ``already_invited`` or ``already_member``."""

    status: Literal["invited", "already_invited", "already_member"]
    invitation: Invitation | None = None
    member: Member | None = None


class RoomService:
    def __init__(
        self,
        users: UserStore,
        rooms: RoomStore,
        fanout: Fanout,
        clock: Callable[[], datetime] = _utcnow,
        revoker: KeyAccessRevoker | None = None,
    ) -> None:
        self._users = users
        self._rooms = rooms
        self._fanout = fanout
        self._clock = clock
        self._revoker = revoker

    # -- reading -------------------------------------------------------------------

    async def my_rooms(self, actor: User) -> list[MyRoom]:
        return await self._rooms.list_user_rooms(actor.id)

    async def my_room_ids(self, actor_id: str) -> list[str]:
        return await self._rooms.list_user_room_ids(actor_id)

    async def directory(self, limit: int = 200) -> list[DirectoryEntry]:
        return await self._rooms.list_public_rooms(limit)

    async def get(self, actor: User, room_id: str) -> MyRoom:
        room, role = await self.require_member(actor.id, room_id)
        return MyRoom(room=room, role=role)

    async def members(self, actor: User, room_id: str) -> list[Member]:
        await self.require_member(actor.id, room_id)
        return await self._rooms.list_members(room_id)

    # -- authorization ---------------------------------------------------------------

    async def visible_room(self, actor_id: str, room_id: str) -> tuple[Room, Role | None]:
        """The room and the actor's role; private rooms exist only for their members."""
        room = await self._rooms.get_room(room_id)
        if room is None:
            raise NotFound("room not found")
        role = await self._rooms.get_role(room_id, actor_id)
        if role is None and room.visibility is not Visibility.PUBLIC:
            raise NotFound("room not found")
        return room, role

    async def require_member(self, actor_id: str, room_id: str) -> tuple[Room, Role]:
        room, role = await self.visible_room(actor_id, room_id)
        if role is None:
            raise Forbidden("you are not a member of this room; join it first")
        return room, role

    # -- changing ----------------------------------------------------------------------

    async def create(self, actor: User, name: str, visibility: str) -> MyRoom:
        if visibility not in (Visibility.PUBLIC, Visibility.PRIVATE):
            raise InvalidInput("visibility must be 'public' or 'private'")
        room = Room(
            id=str(uuid.uuid4()),
            name=normalize_room_name(name),
            visibility=Visibility(visibility),
            created_by=actor.id,
            created_at=self._clock(),
        )
        room = await self._rooms.create_room(room, owner_id=actor.id)
        mine = MyRoom(room=room, role=Role.OWNER)
        await self._announce_joined(actor, mine, announce_to_room=False)
        return mine

    async def join(self, actor: User, room_id: str) -> MyRoom:
        room, role = await self.visible_room(actor.id, room_id)
        if role is not None:
            return MyRoom(room=room, role=role)
        if room.visibility is not Visibility.PUBLIC:  # pragma: no cover - visible_room hides it
            raise NotFound("room not found")
        # A room everyone left has no owner; whoever joins it first becomes one.
        role = Role.MEMBER if await self._rooms.list_members(room_id) else Role.OWNER
        if await self._rooms.add_member(room_id, actor.id, role):
            await self._announce_joined(actor, MyRoom(room=room, role=role))
        if await self._rooms.delete_invitation(room_id, actor.id):
            await self._invitation_closed(actor.id, room_id, "joined")
        return MyRoom(room=room, role=role)

    async def invite(self, actor: User, room_id: str, username: str) -> InviteResult:
        """Invite a user (the owner's way to add a member); idempotent."""
        await self._require_owner(actor, room_id)
        target = await self._users.get_user_by_username(normalize_username(username))
        if target is None:
            raise NotFound("no such user")
        if await self._rooms.get_role(room_id, target.id) is not None:
            return InviteResult("already_member", member=await self._member(room_id, target.id))
        created = await self._rooms.create_invitation(room_id, target.id, actor.id, self._clock())
        invitation = await self._rooms.get_invitation(room_id, target.id)
        if invitation is None:  # accepted or declined in between
            raise Conflict("the invitation changed concurrently; try again")
        if not created:
            return InviteResult("already_invited", invitation=invitation)
        await self._fanout.publish(
            events.INVITATION_NEW,
            events.invitation_payload(invitation),
            [user_channel(target.id)],
        )
        return InviteResult("invited", invitation=invitation)

    async def invitations(self, actor: User) -> list[Invitation]:
        return await self._rooms.list_invitations(actor.id)

    async def accept_invitation(self, actor: User, room_id: str) -> MyRoom:
        """Become a member of a room one was invited to; accepting twice is harmless."""
        room = await self._rooms.get_room(room_id)
        if room is None:
            raise NotFound("no invitation to that room")
        role = await self._rooms.get_role(room_id, actor.id)
        if role is not None:
            # Accepted from another tab, or joined the public room meanwhile.
            if await self._rooms.delete_invitation(room_id, actor.id):
                await self._invitation_closed(actor.id, room_id, "accepted")
            return MyRoom(room=room, role=role)
        # Like joining: the first member of a room everyone left becomes its owner.
        role = Role.MEMBER if await self._rooms.list_members(room_id) else Role.OWNER
        if not await self._rooms.accept_invitation(room_id, actor.id, role):
            raise NotFound("no invitation to that room")
        mine = MyRoom(room=room, role=role)
        await self._invitation_closed(actor.id, room_id, "accepted")
        await self._announce_joined(actor, mine)
        return mine

    async def decline_invitation(self, actor: User, room_id: str) -> None:
        if not await self._rooms.delete_invitation(room_id, actor.id):
            raise NotFound("no invitation to that room")
        await self._invitation_closed(actor.id, room_id, "declined")

    async def cancel_invitation(self, actor: User, room_id: str, user_id: str) -> None:
        """An owner takes back an invitation that has not been accepted yet."""
        await self._require_owner(actor, room_id)
        if not await self._rooms.delete_invitation(room_id, user_id):
            raise NotFound("that user has no pending invitation to this room")
        await self._invitation_closed(user_id, room_id, "cancelled")

    async def remove_member(self, actor: User, room_id: str, user_id: str) -> None:
        if user_id == actor.id:
            await self.leave(actor, room_id)
            return
        await self._require_owner(actor, room_id)
        if not await self._rooms.remove_member(room_id, user_id):
            raise NotFound("that user is not a member of this room")
        await self._announce_left(room_id, user_id, reason="removed")

    async def leave(self, actor: User, room_id: str) -> None:
        _, role = await self.require_member(actor.id, room_id)
        if role is Role.OWNER:
            await self._hand_over_ownership(room_id, actor.id)
        await self._rooms.remove_member(room_id, actor.id)
        await self._announce_left(room_id, actor.id, reason="left")

    async def open_direct(self, actor: User, username: str) -> MyRoom:
        other = await self._users.get_user_by_username(normalize_username(username))
        if other is None:
            raise NotFound("no such user")
        people = sorted({actor.username, other.username})
        room = Room(
            id=str(uuid.uuid4()),
            name=", ".join(people),
            visibility=Visibility.DIRECT,
            created_by=actor.id,
            created_at=self._clock(),
        )
        member_ids = sorted({actor.id, other.id})
        room, created = await self._rooms.get_or_create_direct_room(
            room, direct_room_key(actor.id, other.id), member_ids
        )
        mine = MyRoom(room=room, role=Role.MEMBER)
        if created:
            for person in {actor, other}:
                await self._announce_joined(person, mine, announce_to_room=False)
        elif await self._rooms.add_member(room.id, actor.id, Role.MEMBER):
            # The actor had left this direct room; opening it again brings them back.
            await self._announce_joined(actor, mine)
        return mine

    # -- helpers -------------------------------------------------------------------------

    async def _require_owner(self, actor: User, room_id: str) -> Room:
        room, role = await self.require_member(actor.id, room_id)
        if room.visibility is Visibility.DIRECT:
            raise InvalidInput("a direct room has exactly its two people; members cannot change")
        if role is not Role.OWNER:
            raise Forbidden("only an owner of the room can do that")
        return room

    async def _member(self, room_id: str, user_id: str) -> Member:
        for member in await self._rooms.list_members(room_id):
            if member.user.id == user_id:
                return member
        raise NotFound("that user is not a member of this room")  # pragma: no cover

    async def _hand_over_ownership(self, room_id: str, leaving_owner_id: str) -> None:
        """A room keeps an owner: when its last owner leaves, the longest member becomes one."""
        members = await self._rooms.list_members(room_id)
        others = [m for m in members if m.user.id != leaving_owner_id]
        if others and not any(m.role is Role.OWNER for m in others):
            await self._rooms.set_role(room_id, others[0].user.id, Role.OWNER)

    async def _revoke_key_access(self, user_id: str, room_id: str) -> None:
        if self._revoker is None:
            return
        try:
            await self._revoker.revoke(user_id, room_id)
        except SealchatError as exc:
            # The membership change stands; the leaver's grants still expire on their own.
            log.warning("could not revoke key access for a room: %s", exc.message)

    async def _invitation_closed(self, invitee_id: str, room_id: str, reason: str) -> None:
        await self._fanout.publish(
            events.INVITATION_CLOSED,
            {"room_id": room_id, "reason": reason},
            [user_channel(invitee_id)],
        )

    async def _announce_joined(
        self, user: User, my_room: MyRoom, *, announce_to_room: bool = True
    ) -> None:
        room_id = my_room.room.id
        await self._fanout.subscribe_user(user.id, room_id)
        await self._fanout.publish(
            events.ROOM_JOINED, events.my_room_payload(my_room), [user_channel(user.id)]
        )
        if announce_to_room:
            await self._fanout.publish(
                events.MEMBER_JOINED,
                {"room_id": room_id, "user": events.user_payload(user), "role": my_room.role.value},
                [room_channel(room_id)],
            )

    async def _announce_left(self, room_id: str, user_id: str, reason: str) -> None:
        await self._revoke_key_access(user_id, room_id)
        await self._fanout.unsubscribe_user(user_id, room_id)
        await self._fanout.publish(
            events.ROOM_LEFT, {"room_id": room_id, "reason": reason}, [user_channel(user_id)]
        )
        await self._fanout.publish(
            events.MEMBER_LEFT,
            {"room_id": room_id, "user_id": user_id, "reason": reason},
            [room_channel(room_id)],
        )
