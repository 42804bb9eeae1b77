"""Sending, history and catch-up. The hot path is ``send``: one insert, then one emit."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sealchat.domain.encoded import EncodedJson
from sealchat.domain.envelope import check_envelope_shape
from sealchat.domain.errors import InvalidInput, PayloadTooLarge, SealchatError
from sealchat.domain.models import AppendResult, Message, NewMessage, Relation, RelationType, Role
from sealchat.domain.relations import SENDABLE, delete_client_msg_id
from sealchat.domain.rules import check_client_msg_id
from sealchat.ports.fanout import Fanout, room_channel
from sealchat.ports.rate_limit import InstantRateLimiter, RateLimiter
from sealchat.ports.storage import MessageStore, MessageSubmitter, StoreOutcome
from sealchat.services import events
from sealchat.services.rooms import RoomService

# Random bytes for message ids, drawn from the OS in blocks rather than 16 at a time.
_ID_BLOCK = 10 * 256
_random = bytearray()


def new_message_id() -> str:
    """A time-ordered (version 7, RFC 9562) UUID, spelled as ``str(uuid.UUID)`` does: the
    Unix time in milliseconds, then 74 random bits. New messages' ids thus land at the end
    of the primary key's index (one page per batch) instead of on a random page each,
    which on a database of hundreds of thousands of messages is most of an insert's cost.
    The time it shows is the message's ``created_at`` anyway."""
    global _random
    if len(_random) < 10:
        _random = bytearray(os.urandom(_ID_BLOCK))
    raw = bytearray((time.time_ns() // 1_000_000).to_bytes(6, "big"))
    raw += _random[-10:]
    del _random[-10:]
    raw[6] = (raw[6] & 0x0F) | 0x70  # version 7
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 9562 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _forget_random() -> None:
    # A forked worker must not hand out the ids its parent has buffered.
    del _random[:]


os.register_at_fork(after_in_child=_forget_random)


# Built once: ``json.dumps`` with options builds an encoder per call.
_ENVELOPE_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)

# What a message adds to a reply besides its envelope (ids, seq, timestamps, JSON keys).
MESSAGE_ALLOWANCE_BYTES = 256


def wire_size(message: Message) -> int:
    """A message's share of a reply's byte budget: its stored envelope plus an allowance.

    Stored envelopes are compact JSON of base64 and ASCII names, so characters are bytes.
    """
    envelope = message.envelope_json
    return (4 if envelope is None else len(envelope)) + MESSAGE_ALLOWANCE_BYTES


def _within_bytes(page: list[Message], budget: int, *, newest: bool) -> list[Message]:
    """The longest run of ``page`` from its oldest (or newest) end within ``budget``;
    never empty when ``page`` is not."""
    order = reversed(range(len(page))) if newest else range(len(page))
    taken = 0
    for index in order:
        budget -= wire_size(page[index])
        if budget < 0 and taken:
            break
        taken += 1
    return page[len(page) - taken :] if newest else page[:taken]


@dataclass(frozen=True, slots=True)
class SyncResult:
    messages: list[Message]
    # Rooms with more missed messages than one sync returns: page on with history.
    has_more: list[str]
    errors: dict[str, SealchatError] = field(default_factory=dict)


class MessageService:
    def __init__(
        self,
        messages: MessageStore,
        rooms: RoomService,
        fanout: Fanout,
        limiter: RateLimiter,
        *,
        max_envelope_bytes: int,
        history_page_max: int,
        sync_page_max: int,
        sync_reply_max_bytes: int = 1024 * 1024,
        history_reply_max_bytes: int = 1024 * 1024,
        submitter: MessageSubmitter | None = None,
    ) -> None:
        self._messages = messages
        # Sends that need no task of their own (``submit``): a store that queues without
        # waiting, and a rate limit that answers at once (in process, not Redis).
        self._submitter = submitter if isinstance(limiter, InstantRateLimiter) else None
        self._instant_limiter = limiter if isinstance(limiter, InstantRateLimiter) else None
        self._rooms = rooms
        self._fanout = fanout
        self._limiter = limiter
        self._max_envelope_bytes = max_envelope_bytes
        self._history_page_max = history_page_max
        self._sync_page_max = sync_page_max
        self._sync_reply_max_bytes = sync_reply_max_bytes
        self._history_reply_max_bytes = history_reply_max_bytes

    async def send(
        self,
        sender_id: str,
        room_id: str,
        client_msg_id: str,
        envelope: dict[str, Any],
        origin: str | None = None,
        relates_to: Relation | None = None,
        attachments: list[str] | None = None,
    ) -> AppendResult:
        """Store the envelope with the room's next seq, then broadcast it.

        ``origin`` is the sending socket: it gets the message in its ack, not twice.
        Membership is checked by the insert itself, so this costs one statement; a
        relation's target is checked inside the same write. ``attachments`` are the ids
        of blobs the sealed content names (sealed files): stored in the same
        transaction, so they are kept; a message without them takes the group-commit
        path unchanged.
        """
        new = self._checked(sender_id, room_id, client_msg_id, envelope, relates_to)
        await self._limiter.take(sender_id)
        if attachments:
            result = await self._messages.append_message_with_attachments(new, attachments)
        else:
            result = await self._messages.append_message(new)
        if result is None:
            raise await self.refusal(sender_id, room_id)
        if result.created:
            await self.announce(result, envelope, origin)
        return result

    @property
    def can_submit(self) -> bool:
        """Whether ``submit`` is available (else use ``send``)."""
        return self._submitter is not None

    def submit(
        self,
        sender_id: str,
        room_id: str,
        client_msg_id: str,
        envelope: dict[str, Any],
        on_stored: Callable[[StoreOutcome], None],
        relates_to: Relation | None = None,
    ) -> None:
        """``send`` in two halves, without a task: this half checks the message, takes
        the rate limit and queues it for the next batch (or raises, queuing nothing);
        ``on_stored`` gets the outcome once the batch has committed. The caller then
        broadcasts a new message with ``announce`` and turns ``None`` (not stored) into
        its error with ``refusal``, as ``send`` does. Messages with attachments take
        ``send`` (their own transaction), never this."""
        assert self._submitter is not None and self._instant_limiter is not None
        new = self._checked(sender_id, room_id, client_msg_id, envelope, relates_to)
        self._instant_limiter.check(sender_id)
        self._submitter.submit(new, on_stored)

    async def announce(
        self, result: AppendResult, envelope: dict[str, Any], origin: str | None
    ) -> Mapping[str, Any]:
        """Broadcast a message just stored to its room (``origin``: the sender's socket,
        which gets it in its ack instead); returns the payload broadcast, for that ack."""
        payload = self.new_message_payload(result, envelope)
        await self.broadcast(payload, origin)
        return payload

    def new_message_payload(
        self, result: AppendResult, envelope: dict[str, Any]
    ) -> Mapping[str, Any]:
        """A stored message's ``message:new`` payload, encoded once, with the envelope as
        the text just stored: the broadcast and the ack carry that same text
        (``EncodedJson``)."""
        message = result.message
        stored = message.envelope_json
        if stored is None:
            return events.message_payload(message)
        return events.encoded_message_payload(message, EncodedJson(envelope, stored))

    def broadcast_now(self, payload: Mapping[str, Any], origin: str | None) -> bool:
        """``broadcast`` done at once when nothing needs waiting for; False: nothing sent."""
        channels = [room_channel(payload["room_id"])]
        return self._fanout.publish_now(events.MESSAGE_NEW, payload, channels, skip=origin)

    async def broadcast(self, payload: Mapping[str, Any], origin: str | None) -> None:
        await self._fanout.publish(
            events.MESSAGE_NEW, payload, [room_channel(payload["room_id"])], skip=origin
        )

    async def broadcast_each(self, payloads: list[Mapping[str, Any]], origin: str | None) -> None:
        """``broadcast`` of several new messages of one room, in order: a recipient on the
        fast lane gets them all in one write."""
        await self._fanout.publish_each(
            events.MESSAGE_NEW, payloads, [room_channel(payloads[0]["room_id"])], skip=origin
        )

    async def refusal(self, sender_id: str, room_id: str) -> SealchatError:
        """Why a message was not stored (a cold path): not_found or forbidden."""
        try:
            await self._rooms.require_member(sender_id, room_id)
        except SealchatError as exc:
            return exc
        return SealchatError("message was not stored")  # pragma: no cover - a race

    def _checked(
        self,
        sender_id: str,
        room_id: str,
        client_msg_id: str,
        envelope: dict[str, Any],
        relates_to: Relation | None,
    ) -> NewMessage:
        check_client_msg_id(client_msg_id)
        if relates_to is not None and relates_to.type not in SENDABLE:
            raise InvalidInput("relates_to.type must be reply, edit or reaction")
        envelope_json = self._encode_envelope(envelope)
        # Shape only: the server cannot decrypt, but refuses plaintext and junk.
        check_envelope_shape(envelope)
        return NewMessage(
            id=new_message_id(),
            room_id=room_id,
            sender_id=sender_id,
            client_msg_id=client_msg_id,
            envelope_json=envelope_json,
            relates_to=relates_to,
        )

    async def delete(
        self, actor_id: str, room_id: str, message_id: str, origin: str | None = None
    ) -> AppendResult:
        """Erase a message (and its edits and reactions) and append a deletion marker.

        The sender may delete their message, an owner any message of the room. Deleting
        a deleted message again returns the marker of the first deletion.
        """
        _, role = await self._rooms.require_member(actor_id, room_id)
        marker = NewMessage(
            id=new_message_id(),
            room_id=room_id,
            sender_id=actor_id,
            client_msg_id=delete_client_msg_id(message_id),
            envelope_json=None,
            relates_to=Relation(RelationType.DELETE, message_id),
        )
        result = await self._messages.delete_message(
            marker, message_id, as_owner=role is Role.OWNER
        )
        if result is None:
            # Left the room in between: say so as a send would.
            await self._rooms.require_member(actor_id, room_id)
            raise SealchatError("the message was not deleted")  # pragma: no cover - a race
        if result.created:
            await self._fanout.publish(
                events.MESSAGE_NEW,
                events.message_payload(result.message),
                [room_channel(room_id)],
                skip=origin,
            )
        return result

    async def history(
        self,
        reader_id: str,
        room_id: str,
        *,
        before_seq: int | None = None,
        after_seq: int | None = None,
        limit: int = 50,
    ) -> tuple[list[Message], bool]:
        """One page in ascending seq, and whether more lie beyond it in that direction.

        ``after_seq`` pages forward from a cursor; otherwise pages back from
        ``before_seq`` (or from the newest message).
        """
        await self._rooms.require_member(reader_id, room_id)
        if before_seq is not None and after_seq is not None:
            raise InvalidInput("give before_seq or after_seq, not both")
        limit = max(1, min(limit, self._history_page_max))
        page = await self._messages.list_messages(
            room_id, before_seq=before_seq, after_seq=after_seq, limit=limit + 1
        )
        more = len(page) > limit
        if more:
            page = page[:limit] if after_seq is not None else page[1:]
        # Paging forward keeps the oldest messages of the page, paging back the newest.
        kept = _within_bytes(page, self._history_reply_max_bytes, newest=after_seq is None)
        return kept, more or len(kept) < len(page)

    async def sync(self, reader_id: str, cursors: dict[str, int]) -> SyncResult:
        """Everything after each ``(room, last_seq)`` cursor, in order, per room.

        One budget for the whole reply, in messages and in bytes, so a thousand busy
        rooms (or a few rooms of big envelopes) stay one bounded page; the first message
        is always taken, so a client makes progress whatever the budget.
        """
        found: list[Message] = []
        has_more: list[str] = []
        errors: dict[str, SealchatError] = {}
        count_left = self._sync_page_max
        bytes_left = self._sync_reply_max_bytes
        # Assume the biggest envelope until sizes are seen: one query then loads little
        # more than the byte budget, however big the room's envelopes are.
        per_message = self._max_envelope_bytes + MESSAGE_ALLOWANCE_BYTES
        # One query for the reader's rooms; only cursors outside them are looked at one by one
        # (to tell not_found from forbidden), so a thousand cursors cost no thousand checks.
        mine = set(await self._rooms.my_room_ids(reader_id)) if cursors else set()
        for room_id, last_seq in cursors.items():
            if room_id not in mine:
                try:
                    await self._rooms.require_member(reader_id, room_id)
                except SealchatError as exc:
                    errors[room_id] = exc
                    continue
            if count_left == 0 or bytes_left <= 0:
                has_more.append(room_id)
                continue
            after = last_seq
            while True:
                want = min(count_left, max(1, -(-bytes_left // per_message)))
                page = await self._messages.list_messages(room_id, after_seq=after, limit=want + 1)
                cut = False
                for message in page[:want]:
                    size = wire_size(message)
                    if size > bytes_left and found:
                        cut = True
                        break
                    found.append(message)
                    bytes_left -= size
                    count_left -= 1
                    after = message.seq
                if not cut and len(page) <= want:
                    break  # this room is caught up
                if cut or count_left == 0 or bytes_left <= 0:
                    has_more.append(room_id)
                    break
                spent = self._sync_reply_max_bytes - bytes_left
                per_message = max(MESSAGE_ALLOWANCE_BYTES, spent // len(found))
        return SyncResult(messages=found, has_more=has_more, errors=errors)

    def _encode_envelope(self, envelope: dict[str, Any]) -> str:
        if not isinstance(envelope, dict) or not envelope:
            raise InvalidInput("envelope must be a non-empty JSON object")
        try:
            encoded = _ENVELOPE_ENCODER.encode(envelope)
            size = len(encoded) if encoded.isascii() else len(encoded.encode())
        except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
            raise InvalidInput("envelope must be plain JSON (no NaN or Infinity)") from exc
        if size > self._max_envelope_bytes:
            raise PayloadTooLarge(
                f"envelope is {size} bytes; the limit is {self._max_envelope_bytes}"
            )
        return encoded
