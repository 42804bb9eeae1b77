"""The client core's typed state: rooms, members, presence, read markers, pending sends.

Plain dataclasses built from the server's JSON (docs/protocol.md); ``raw`` keeps the
object as the server sent it, for callers of the dict-returning facade methods.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# A message as the server delivers it: {id, room_id, seq, sender_id, client_msg_id,
# envelope, created_at}. Kept as JSON: the facade and the wire tests speak it.
Message = dict[str, Any]


@dataclass(frozen=True, slots=True)
class User:
    id: str
    username: str

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> User:
        return cls(str(body["id"]), str(body["username"]))


@dataclass(slots=True)
class Room:
    id: str
    name: str
    visibility: str
    last_seq: int
    role: str | None = None  # None: a directory room we are not in
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    # From GET /api/rooms (docs/protocol.md §4.6); None where the server did not say.
    last_read_seq: int | None = None
    unread: int | None = None

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Room:
        return cls(
            id=str(body["id"]),
            name=str(body["name"]),
            visibility=str(body.get("visibility", "")),
            last_seq=int(body.get("last_seq", 0)),
            role=body.get("role"),
            raw=body,
            last_read_seq=_optional_int(body.get("last_read_seq")),
            unread=_optional_int(body.get("unread")),
        )


@dataclass(slots=True)
class Member:
    user: User
    role: str
    online: bool = False

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Member:
        return cls(User.from_json(body["user"]), str(body["role"]), bool(body.get("online")))


@dataclass(frozen=True, slots=True)
class ReadMarker:
    """The newest ``seq`` of a room this user has read (kept by the server, shared by
    every device of the user)."""

    room_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class PendingSend:
    """A sealed message not yet acknowledged; resent with the same ``client_msg_id``,
    so a send whose ack was lost is stored once."""

    room_id: str
    client_msg_id: str
    envelope: dict[str, Any]
    # A relation's {type, message_id}, as sealed inside the envelope too.
    relates_to: dict[str, str] | None = None

    def to_json(self) -> dict[str, Any]:
        body = {
            "room_id": self.room_id,
            "client_msg_id": self.client_msg_id,
            "envelope": self.envelope,
        }
        if self.relates_to is not None:
            body["relates_to"] = self.relates_to
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> PendingSend:
        relates_to = body.get("relates_to")
        return cls(
            str(body["room_id"]),
            str(body["client_msg_id"]),
            dict(body["envelope"]),
            dict(relates_to) if isinstance(relates_to, dict) else None,
        )


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)
