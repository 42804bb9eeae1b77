"""Event names and payload shapes shared by Socket.IO and HTTP (see docs/protocol.md)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sealchat.domain.encoded import EncodedJson
from sealchat.domain.models import (
    DirectoryEntry,
    Invitation,
    Member,
    Message,
    MyRoom,
    Room,
    User,
)

MESSAGE_NEW = "message:new"
# Socket.IO's JSON (compact; ASCII, as python-socketio writes it).
_COMPACT = json.JSONEncoder(separators=(",", ":"))
ROOM_JOINED = "room:joined"
ROOM_LEFT = "room:left"
MEMBER_JOINED = "member:joined"
MEMBER_LEFT = "member:left"
INVITATION_NEW = "invitation:new"
INVITATION_CLOSED = "invitation:closed"
PRESENCE = "presence"
TYPING = "typing"
SESSION_EXPIRED = "session:expired"
READ_UPDATED = "read:updated"


def user_payload(user: User) -> dict[str, Any]:
    return {"id": user.id, "username": user.username}


def room_payload(room: Room) -> dict[str, Any]:
    return {
        "id": room.id,
        "name": room.name,
        "visibility": room.visibility.value,
        "created_by": room.created_by,
        "created_at": room.created_at.isoformat(),
        "last_seq": room.last_seq,
    }


def my_room_payload(my_room: MyRoom) -> dict[str, Any]:
    payload = {**room_payload(my_room.room), "role": my_room.role.value}
    if my_room.last_read_seq is not None:
        payload["last_read_seq"] = my_room.last_read_seq
    if my_room.unread is not None:
        payload["unread"] = my_room.unread
    return payload


def optional_user_payload(user: User | None) -> dict[str, Any] | None:
    return None if user is None else user_payload(user)


def directory_payload(entry: DirectoryEntry) -> dict[str, Any]:
    return {
        **room_payload(entry.room),
        "member_count": entry.member_count,
        "owner": optional_user_payload(entry.owner),
    }


def invitation_payload(invitation: Invitation) -> dict[str, Any]:
    """What an invitee sees before accepting: who asks, and which room exactly.

    The room's ``last_seq`` is left out: a private room's activity is for its members.
    """
    room = {k: v for k, v in room_payload(invitation.room).items() if k != "last_seq"}
    return {
        "room": {
            **room,
            "owner": optional_user_payload(invitation.owner),
            "member_count": invitation.member_count,
        },
        "inviter": user_payload(invitation.inviter),
        "invitee": user_payload(invitation.invitee),
        "created_at": invitation.created_at.isoformat(),
    }


def member_payload(member: Member, online: bool) -> dict[str, Any]:
    return {
        "user": user_payload(member.user),
        "role": member.role.value,
        "joined_at": member.joined_at.isoformat(),
        "online": online,
        "last_read_seq": member.last_read_seq,
    }


def message_payload(message: Message, envelope: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The wire form of a stored message.

    ``envelope`` lets the send path reuse what it already has instead of decoding the
    stored JSON again: the object it parsed, or that object with its stored text
    (``EncodedJson``), which the Socket.IO encoder writes out as it is.
    """
    if envelope is None and message.envelope_json is not None:
        envelope = json.loads(message.envelope_json)
    payload = _message_fields(message)
    payload["envelope"] = envelope
    return payload


def encoded_message_payload(message: Message, envelope: EncodedJson) -> EncodedJson:
    """``message_payload`` with its JSON text made once, for the send path: the broadcast
    and the sender's ack both carry this text (the envelope's stored text spliced in),
    so a new message is encoded once, not once per event that carries it."""
    fields = _message_fields(message)
    text = f'{_COMPACT.encode(fields)[:-1]},"envelope":{envelope.text}}}'
    fields["envelope"] = envelope
    return EncodedJson(fields, text)


def _message_fields(message: Message) -> dict[str, Any]:
    """Every field of a message's wire form but its envelope."""
    relation = message.relates_to
    return {
        "id": message.id,
        "room_id": message.room_id,
        "seq": message.seq,
        "sender_id": message.sender_id,
        "client_msg_id": message.client_msg_id,
        "created_at": message.created_at.isoformat(),
        "relates_to": (
            None
            if relation is None
            else {"type": relation.type.value, "message_id": relation.message_id}
        ),
        "deleted": message.deleted,
    }


def accepted_ack(payload: EncodedJson) -> EncodedJson:
    """The ack of a stored message, ``{"ok": true, "message": ...}``, pre-encoded too."""
    return EncodedJson({"ok": True, "message": payload}, f'{{"ok":true,"message":{payload.text}}}')
