"""The chat's plain data. Envelopes are opaque JSON objects to the server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

Envelope = dict[str, Any]


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"
    DIRECT = "direct"


class Role(StrEnum):
    OWNER = "owner"
    MEMBER = "member"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str


@dataclass(frozen=True, slots=True)
class Room:
    id: str
    name: str
    visibility: Visibility
    created_by: str
    created_at: datetime
    last_seq: int = 0


@dataclass(frozen=True, slots=True)
class MyRoom:
    """A room as seen by one of its members; read state only where it was looked up."""

    room: Room
    role: Role
    last_read_seq: int | None = None
    unread: int | None = None


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    room: Room
    member_count: int
    # The longest-standing owner, so a name alone cannot mislead (None if nobody owns it).
    owner: User | None = None


@dataclass(frozen=True, slots=True)
class Member:
    user: User
    role: Role
    joined_at: datetime
    # The member's read marker ("seen by"); None where it is not shown.
    last_read_seq: int | None = None


@dataclass(frozen=True, slots=True)
class Invitation:
    """A pending invitation: ``invitee`` becomes a member of ``room`` only by accepting.

    ``owner`` and ``member_count`` describe the room as it is now, so the invitee can
    tell two rooms of the same name apart before accepting.
    """

    room: Room
    invitee: User
    inviter: User
    created_at: datetime
    owner: User | None = None
    member_count: int = 0


class RelationType(StrEnum):
    REPLY = "reply"
    EDIT = "edit"
    REACTION = "reaction"
    # Appended by message:delete only; its envelope is null.
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Relation:
    """What a relation message points at: another message of the same room."""

    type: RelationType
    message_id: str


@dataclass(frozen=True, slots=True)
class NewMessage:
    """What a sender asks to store; the storage assigns ``seq`` and ``created_at``."""

    id: str
    room_id: str
    sender_id: str
    client_msg_id: str
    # None only for a deletion marker.
    envelope_json: str | None
    relates_to: Relation | None = None


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    room_id: str
    seq: int
    sender_id: str
    client_msg_id: str
    # None once deleted (and for deletion markers): erased from the database.
    envelope_json: str | None
    created_at: datetime
    relates_to: Relation | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class AppendResult:
    message: Message
    # False when the client message id was already stored: a resend after a lost ack.
    created: bool
