"""Request bodies and Socket.IO event payloads, validated with pydantic."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from sealchat.domain.models import Relation, RelationType

RoomId = Field(min_length=1, max_length=64)
# The largest sequence number a client may name: 2**53 - 1 survives JavaScript numbers and
# fits every database integer; anything bigger is refused (422 / invalid_input) instead of
# overflowing the database driver (a 500).
MAX_SEQ = 2**53 - 1
# A sync cursor: a negative one acts like 0 (documented), so it is bounded on both sides.
Cursor = Annotated[StrictInt, Field(ge=-MAX_SEQ, le=MAX_SEQ)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class CreateRoom(Strict):
    name: str = Field(min_length=1, max_length=200)
    visibility: Literal["public", "private"] = "public"


class AddMember(Strict):
    username: str = Field(min_length=1, max_length=64)


class OpenDirect(Strict):
    username: str = Field(min_length=1, max_length=64)


class RelatesTo(Strict):
    type: Literal["reply", "edit", "reaction"]
    message_id: str = Field(min_length=1, max_length=64)

    def to_relation(self) -> Relation:
        return Relation(RelationType(self.type), self.message_id)


class SendMessage(Strict):
    room_id: str = RoomId
    client_msg_id: str = Field(min_length=1, max_length=64)
    envelope: dict[str, Any]
    relates_to: RelatesTo | None = None
    # Blob ids the sealed content names (sealed files); the server keeps those blobs.
    attachments: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        default=None, max_length=10
    )

    def relation(self) -> Relation | None:
        return None if self.relates_to is None else self.relates_to.to_relation()


class DeleteMessage(Strict):
    room_id: str = RoomId
    message_id: str = Field(min_length=1, max_length=64)


class MarkRead(Strict):
    seq: Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]


class SyncRequest(Strict):
    cursors: dict[Annotated[str, RoomId], Cursor] = Field(max_length=1000)


class TypingNotice(Strict):
    room_id: str = RoomId
    typing: bool = True


class RenewSession(Strict):
    token: str = Field(min_length=1, max_length=8192)
