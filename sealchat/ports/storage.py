"""Storage ports. Each method is one transaction: when it returns, it has committed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from sealchat.domain.errors import SealchatError
from sealchat.domain.models import (
    AppendResult,
    DirectoryEntry,
    Invitation,
    Member,
    Message,
    MyRoom,
    NewMessage,
    Role,
    Room,
    User,
)


class UserStore(Protocol):
    async def upsert_user(self, user: User) -> None:
        """Insert the profile, or update its username if the id exists."""

    async def get_user(self, user_id: str) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None: ...


class RoomStore(Protocol):
    async def create_room(self, room: Room, owner_id: str) -> Room:
        """Store a room and make ``owner_id`` its owner, atomically."""

    async def get_or_create_direct_room(
        self, room: Room, dm_key: str, member_ids: list[str]
    ) -> tuple[Room, bool]:
        """Return the direct room for ``dm_key``, creating it with its members if new."""

    async def get_room(self, room_id: str) -> Room | None: ...

    async def list_user_rooms(self, user_id: str) -> list[MyRoom]: ...

    async def list_user_room_ids(self, user_id: str) -> list[str]: ...

    async def list_public_rooms(self, limit: int) -> list[DirectoryEntry]: ...

    async def get_role(self, room_id: str, user_id: str) -> Role | None:
        """The user's role in the room, or None when not a member."""

    async def add_member(self, room_id: str, user_id: str, role: Role) -> bool:
        """Add a member; False when already a member (nothing changes)."""

    async def remove_member(self, room_id: str, user_id: str) -> bool:
        """Remove a member; False when not a member."""

    async def set_role(self, room_id: str, user_id: str, role: Role) -> None: ...

    async def list_members(self, room_id: str) -> list[Member]:
        """Members ordered by the time they joined."""

    async def create_invitation(
        self, room_id: str, invitee_id: str, inviter_id: str, created_at: datetime
    ) -> bool:
        """Invite a user to a room; False when already invited (nothing changes)."""

    async def get_invitation(self, room_id: str, invitee_id: str) -> Invitation | None: ...

    async def list_invitations(self, invitee_id: str) -> list[Invitation]:
        """The user's pending invitations, oldest first."""

    async def delete_invitation(self, room_id: str, invitee_id: str) -> bool:
        """Drop an invitation (declined, or made moot); False when there was none."""

    async def accept_invitation(self, room_id: str, invitee_id: str, role: Role) -> bool:
        """Drop the invitation and make the invitee a member, atomically.

        False (nothing changes) when there was no invitation. Already being a member
        is not an error: the invitation is dropped and the membership kept as it is.
        """


# What one queued message came to: stored (or its original, for a resend), None for a
# sender who is not a member, or the error that message alone failed with.
StoreOutcome = AppendResult | None | SealchatError


class MessageSubmitter(Protocol):
    """``MessageStore.append_message`` without waiting (group commit's writer)."""

    def submit(self, new: NewMessage, on_stored: Callable[[StoreOutcome], None]) -> None:
        """Queue ``new`` for the next batch; ``on_stored`` gets its outcome, on the event
        loop, once that batch has committed (outcomes of one batch in queue order).
        Raises ``Unavailable`` (nothing queued) when the queue is full or closing."""


class MessageStore(Protocol):
    async def append_message(self, new: NewMessage) -> AppendResult | None:
        """Store a message with the room's next sequence number, in one transaction.

        The transaction may be shared with other messages (group commit); this returns
        once it has committed. Raises ``Unavailable`` when the database is down or too
        many messages are already waiting to be stored.
        Returns None (storing nothing) when the sender is not a member of the room.
        A ``client_msg_id`` the sender already used in that room returns the stored
        message with ``created=False``.
        """

    async def append_message_with_attachments(
        self, new: NewMessage, blob_ids: list[str]
    ) -> AppendResult | None:
        """``append_message`` for a message naming blobs: in the same transaction the
        blobs are marked referenced and recorded as the message's. Raises ``InvalidInput``
        (storing nothing) when one is not the sender's stored blob of that room."""

    async def list_messages(
        self,
        room_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[Message]:
        """Messages in ascending ``seq``.

        With ``after_seq`` the first ``limit`` messages after it; otherwise the last
        ``limit`` messages before ``before_seq`` (or the newest ones).
        """

    async def delete_message(
        self, marker: NewMessage, target_id: str, *, as_owner: bool
    ) -> AppendResult | None:
        """Erase ``target_id``'s envelope and those of its edits and reactions (for good,
        not flagged), and store ``marker`` (a deletion, no envelope) after it, atomically.

        None when the actor (``marker.sender_id``) is not a member. Raises ``NotFound``
        (no such message in the room), ``Forbidden`` (neither its sender nor, with
        ``as_owner``, an owner), ``InvalidInput`` (a deletion marker). A target deleted
        before returns its first marker with ``created=False``.
        """


class ReadMarkerStore(Protocol):
    async def mark_read(self, room_id: str, user_id: str, seq: int) -> tuple[int, bool] | None:
        """Move the member's marker forward to ``seq`` (capped at the room's last seq).

        Returns ``(marker, moved)``; None when the user is not a member.
        """

    async def read_state(self, user_id: str) -> dict[str, tuple[int, int]]:
        """``room_id -> (last_read_seq, unread)`` for every room of the user."""

    async def unread(self, room_id: str, user_id: str, after_seq: int) -> int:
        """Messages after ``after_seq`` that count as unread for the user."""

    async def markers(self, room_id: str) -> dict[str, int]:
        """``user_id -> last_read_seq`` for the room's members."""
