"""Sealing and opening messages: the envelope format (docs/envelope.md) plus the keyring."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sealchat.client.content import (
    Content,
    ContentError,
    Text,
    parse_content,
    relation_matches,
    to_wire,
)
from sealchat.client.envelope import (
    EnvelopeError,
    open_envelope,
    parse_envelope,
    seal,
)
from sealchat.client.errors import ClientError
from sealchat.client.keyring import ClientKeyring
from sealchat.client.models import Message

PostJson = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    """A message as a reader sees it: its text, or why it could not be opened."""

    message: Message
    content: dict[str, Any] | None
    error: str | None = None  # a reason code; see docs/envelope.md

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def deleted(self) -> bool:
        """The message was deleted: its envelope is erased, there is nothing to open."""
        return bool(self.message.get("deleted"))

    @property
    def deletes(self) -> str | None:
        """For a deletion marker, the id of the message it deleted."""
        relates_to = self.message.get("relates_to")
        if isinstance(relates_to, dict) and relates_to.get("type") == "delete":
            return str(relates_to.get("message_id"))
        return None

    @property
    def text(self) -> str | None:
        if self.content is None or self.content.get("type") != "text":
            return None
        text = self.content.get("text")
        return text if isinstance(text, str) else None

    @property
    def parsed(self) -> Content | None:
        """The content as a typed object (content.py), or None if it did not open."""
        if self.content is None:
            return None
        try:
            return parse_content(self.content)
        except ContentError:
            return None


class RoomGrants:
    """Room-access grants from the chat server, reused until shortly before they expire."""

    def __init__(self, post: PostJson) -> None:
        self._post = post  # the REST transport's authenticated POST
        self._cache: dict[str, tuple[str, float]] = {}

    async def get(self, room_id: str) -> str:
        cached = self._cache.get(room_id)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        body = await self._post(f"/api/rooms/{room_id}/key-grant")
        usable_until = time.monotonic() + 0.8 * float(body["expires_in"])
        self._cache[room_id] = (body["grant"], usable_until)
        return str(body["grant"])

    def forget(self, room_id: str) -> None:
        self._cache.pop(room_id, None)


class Sealer:
    def __init__(self, keyring: ClientKeyring, sender_id: str) -> None:
        self.keyring = keyring
        self.sender_id = sender_id

    async def seal(
        self,
        room_id: str,
        content: Content | dict[str, Any],
        client_msg_id: str | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """Seal any content (content.py) for the room; returns (client_msg_id, envelope).
        Raises ``ContentError`` (a ``ValueError``) for content that is not valid."""
        wire = to_wire(content)
        client_msg_id = client_msg_id or uuid.uuid4().hex
        data_key = await self.keyring.key_for_sending(room_id)
        envelope = seal(
            data_key=data_key.plaintext,
            key_id=data_key.key_id,
            encrypted_data_key=data_key.ciphertext_blob,
            room_id=room_id,
            sender_id=self.sender_id,
            client_msg_id=client_msg_id,
            content=wire,
        )
        return client_msg_id, envelope

    async def seal_text(
        self, room_id: str, text: str, client_msg_id: str | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Seal ``text`` for the room; returns (client_msg_id, envelope)."""
        return await self.seal(room_id, Text(text), client_msg_id)

    async def open(self, message: Message) -> OpenedMessage:
        """Open a delivered message against the metadata the server delivered with it.

        A deleted message or a deletion marker has no envelope: nothing to open, no error.
        A relation the server delivered differently from what was sealed is refused
        (``relation_mismatch``)."""
        if message.get("envelope") is None and (message.get("deleted") or _is_deletion(message)):
            return OpenedMessage(message, None)
        try:
            parsed = parse_envelope(message.get("envelope"))
            data_key = await self.keyring.unwrap(message["room_id"], parsed.encrypted_data_key)
            content = open_envelope(
                parsed,
                data_key=data_key,
                room_id=message["room_id"],
                sender_id=message["sender_id"],
                client_msg_id=message["client_msg_id"],
            )
        except EnvelopeError as exc:
            return OpenedMessage(message, None, exc.reason)
        except ClientError as exc:
            # The key service refused or failed: e.g. access_denied, kms_unavailable.
            return OpenedMessage(message, None, exc.code)
        try:
            matches = relation_matches(parse_content(content), message.get("relates_to"))
        except ContentError:
            matches = True  # bad content is the timeline's to refuse, not a relation issue
        if not matches:
            return OpenedMessage(message, None, "relation_mismatch")
        return OpenedMessage(message, content)


def _is_deletion(message: Message) -> bool:
    relates_to = message.get("relates_to")
    return isinstance(relates_to, dict) and relates_to.get("type") == "delete"
