"""One room as a view uses it: ``client.room(room_id)``.

Its message stream (opened, in ``seq`` order), its timeline with relations applied, and
sending to it: text, replies, edits, reactions.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from sealchat.client.content import edit, reaction, reply
from sealchat.client.models import Message
from sealchat.client.room_timeline import RoomTimeline
from sealchat.client.sealed import OpenedMessage

if TYPE_CHECKING:
    from sealchat.client.client import SealchatClient


class RoomHandle:
    """One room as a view uses it (``client.room(room_id)``)."""

    def __init__(self, client: SealchatClient, room_id: str) -> None:
        self.client = client
        self.room_id = room_id

    async def messages(self) -> AsyncIterator[OpenedMessage]:
        """This room's messages from now on, opened, in ``seq`` order."""
        async for message in self.client.core.room_messages(self.room_id):
            yield await self.client.open(message)

    def timeline(self) -> RoomTimeline:
        """The opened messages with edits, reactions and replies applied."""
        return self.client.core.timeline(self.room_id)

    async def send_text(self, text: str) -> Message:
        return await self.client.send_text(self.room_id, text)

    async def reply(self, message_id: str, text: str) -> Message:
        return await self.client.send_content(self.room_id, reply(text, message_id))

    async def edit(self, message_id: str, new_text: str) -> Message:
        return await self.client.send_content(self.room_id, edit(message_id, new_text))

    async def react(self, message_id: str, key: str) -> Message:
        return await self.client.send_content(self.room_id, reaction(message_id, key))

    async def delete(self, message_id: str) -> Message:
        """Delete a message (or take back a reaction); returns the deletion marker."""
        return await self.client.delete_message(self.room_id, message_id)

    async def mark_read(self, seq: int | None = None) -> dict[str, Any]:
        return await self.client.mark_read(self.room_id, seq)

    def unread(self) -> int:
        return self.client.unread(self.room_id)
