"""``message:send`` without a task per event (the hot path).

The socket's reader calls ``InlineSends.handle`` as the packet is decoded
(adapters/socketio_inline.py): the session and pending checks, validation, the rate
limit and queuing for group commit all happen there, synchronously, and a refusal is
acked at once. Once the batch has committed, the writer hands each message's outcome to
``stored``, in queue order; one task (``_finish_all``, started per batch when none is
running) then broadcasts each new message and sends its ack, in that same order. Per
socket this is today's order: a message's broadcast, then its ack, messages in the order
they were stored; a big room's run of new messages from one socket is one broadcast
(each recipient gets them in order, in one write), then their acks in order. A message
that was not stored because its sender is not a member (a cold path: a query tells
not_found from forbidden) gets its error from a task of its own, so it holds nobody up.
A message naming sealed files (``attachments``) is stored in a transaction of its own
(MessageService.send), in a task: its ack may pass acks of messages sent after it on the
same socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import ValidationError

from sealchat.api.schemas import SendMessage
from sealchat.domain.encoded import EncodedJson
from sealchat.domain.errors import SealchatError
from sealchat.domain.models import AppendResult, User
from sealchat.ports.storage import StoreOutcome
from sealchat.services import events
from sealchat.services.messages import MessageService

log = logging.getLogger(__name__)

Ack = Mapping[str, Any]
INTERNAL_ACK: Ack = {"ok": False, "error": {"code": "internal", "message": "internal error"}}
# Completions between two turns of the event loop (each one a broadcast and an ack).
FINISH_SLICE = 32
# What _finish_now returns when it sent everything.
_SENT: Ack = {"ok": True}


class AckSender(Protocol):
    async def send_ack(self, sid: str, ack_id: int, ack: Ack) -> None: ...

    def send_ack_now(self, sid: str, ack_id: int, ack: Ack) -> bool:
        """``send_ack`` done at once if nothing is ahead of it; False: nothing sent."""
        ...


class Gate(Protocol):
    """What the gateway decides for every event: its sender, or the refusal to ack."""

    def admit(self, sid: str) -> User | dict[str, Any]: ...

    def release(self, sid: str) -> None: ...

    def error_ack(self, exc: SealchatError) -> Ack: ...

    def validation_ack(self, exc: ValidationError) -> Ack: ...


@dataclass(slots=True)
class _Unsent:
    """A stored message's payload, encoded, whose broadcast must be awaited."""

    payload: Mapping[str, Any]


@dataclass(slots=True)
class _Send:
    sid: str
    ack_id: int | None
    sender_id: str
    body: SendMessage


def _accepted_ack(payload: Mapping[str, Any]) -> Ack:
    """A new message's ack: the very text broadcast (encoded once) when it is encoded."""
    if isinstance(payload, EncodedJson):
        return events.accepted_ack(payload)
    return {"ok": True, "message": payload}


class InlineSends:
    def __init__(self, gate: Gate, messages: MessageService, sio: AckSender) -> None:
        self._gate = gate
        self._messages = messages
        self._sio = sio
        self._done: deque[tuple[_Send, StoreOutcome]] = deque()
        self._finisher: asyncio.Task[None] | None = None
        self._cold: set[asyncio.Task[None]] = set()
        self._validate = SendMessage.model_validate

    def handle(self, sid: str, ack_id: int | None, args: list[Any]) -> Ack | None:
        """The reader's half: an ack to send now (a refusal), or None (queued)."""
        admitted = self._gate.admit(sid)
        if isinstance(admitted, dict):
            return admitted
        try:
            body = self._validate(args[0] if args else None)
            send = _Send(sid, ack_id, admitted.id, body)
            if body.attachments:
                # Sealed files (rare) are stored in a transaction of their own, in a task.
                self._spawn(self._send_with_attachments(send))
                return None
            self._messages.submit(
                admitted.id,
                body.room_id,
                body.client_msg_id,
                body.envelope,
                self._stored_callback(send),
                body.relation(),
            )
        except ValidationError as exc:
            ack = self._gate.validation_ack(exc)
        except SealchatError as exc:
            ack = self._gate.error_ack(exc)
        except Exception:
            log.exception("unexpected error handling a socket event")
            ack = INTERNAL_ACK
        else:
            return None  # admitted and queued: released when its ack goes out
        self._gate.release(sid)
        return ack

    def _stored_callback(self, send: _Send) -> Callable[[StoreOutcome], None]:
        def stored(outcome: StoreOutcome) -> None:
            self._done.append((send, outcome))
            if self._finisher is None:
                self._finisher = asyncio.get_running_loop().create_task(self._finish_all())

        return stored

    async def _finish_all(self) -> None:
        try:
            finished = 0
            while self._done:
                send, outcome = self._done.popleft()
                finished_now = self._finish_now(send, outcome)
                if finished_now is None:
                    await self._finish(send, outcome)
                elif isinstance(finished_now, _Unsent):
                    group = self._same_room_after(send, finished_now.payload)
                    await self._finish_broadcasts(group)
                    finished += len(group) - 1
                elif finished_now is not _SENT:
                    await self._send_ack(send, finished_now)  # the lane was not free
                finished += 1
                if finished >= FINISH_SLICE:
                    finished = 0
                    await asyncio.sleep(0)  # a big batch does not hold the loop
        finally:
            self._finisher = None

    def _finish_now(self, send: _Send, outcome: StoreOutcome) -> Ack | _Unsent | None:
        """A new message's broadcast and ack, sent at once when neither has to wait (a
        small room, every socket on the fast lane: the common case), without a chain of
        coroutines per message. None: nothing was done (``_finish`` does it all);
        ``_Unsent``: its payload, encoded, still to broadcast (a big room, a busy socket);
        an ack: broadcast, and this ack still to send (the lane was not free); or _SENT."""
        if type(outcome) is not AppendResult or not outcome.created:
            return None
        try:
            payload = self._messages.new_message_payload(outcome, send.body.envelope)
            if not self._messages.broadcast_now(payload, send.sid):
                return _Unsent(payload)
        except Exception:
            return None  # _finish does it again the usual way (and logs what fails)
        self._gate.release(send.sid)
        if send.ack_id is None:
            return _SENT
        ack = _accepted_ack(payload)
        return _SENT if self._sio.send_ack_now(send.sid, send.ack_id, ack) else ack

    def _same_room_after(
        self, send: _Send, payload: Mapping[str, Any]
    ) -> list[tuple[_Send, Mapping[str, Any]]]:
        """``send``'s broadcast (a big room's), and those of the new messages right behind
        it from the same socket to the same room: they go out as one broadcast, each
        recipient getting them in order in one write."""
        group = [(send, payload)]
        done = self._done
        while done and len(group) < FINISH_SLICE:
            following, outcome = done[0]
            if (
                following.sid != send.sid
                or following.body.room_id != send.body.room_id
                or type(outcome) is not AppendResult
                or not outcome.created
            ):
                break
            try:
                more = self._messages.new_message_payload(outcome, following.body.envelope)
            except Exception:
                break  # taken the usual way next (which logs what fails)
            done.popleft()
            group.append((following, more))
        return group

    async def _finish_broadcasts(self, group: list[tuple[_Send, Mapping[str, Any]]]) -> None:
        acks: list[Ack]
        try:
            origin = group[0][0].sid
            if len(group) == 1:
                await self._messages.broadcast(group[0][1], origin)
            else:
                await self._messages.broadcast_each([payload for _, payload in group], origin)
            acks = [_accepted_ack(payload) for _, payload in group]
        except Exception:
            log.exception("unexpected error handling a socket event")
            acks = [INTERNAL_ACK] * len(group)
        for (send, _), ack in zip(group, acks, strict=True):
            if send.ack_id is not None and self._sio.send_ack_now(send.sid, send.ack_id, ack):
                self._gate.release(send.sid)
            else:
                await self._answer(send, ack)

    async def _finish(self, send: _Send, outcome: StoreOutcome) -> None:
        try:
            if outcome is None:
                self._spawn(self._refuse(send))
                return
            if isinstance(outcome, AppendResult):
                ack = await self._accepted(send, outcome)
            else:
                ack = self._gate.error_ack(outcome)
        except Exception:
            log.exception("unexpected error handling a socket event")
            ack = INTERNAL_ACK
        await self._answer(send, ack)

    async def _accepted(self, send: _Send, result: AppendResult) -> Ack:
        # As RealtimeGateway.send_message: a resend gets the stored original back; a new
        # message is broadcast, and its ack carries the very text broadcast (encoded once).
        if not result.created:
            return {"ok": True, "message": events.message_payload(result.message)}
        payload = await self._messages.announce(result, send.body.envelope, send.sid)
        return _accepted_ack(payload)

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._cold.add(task)
        task.add_done_callback(self._cold.discard)

    async def _send_with_attachments(self, send: _Send) -> None:
        body = send.body
        try:
            result = await self._messages.send(
                send.sender_id,
                body.room_id,
                body.client_msg_id,
                body.envelope,
                origin=send.sid,
                relates_to=body.relation(),
                attachments=body.attachments,
            )
            stored = result.message.envelope_json
            envelope = EncodedJson(body.envelope, stored) if result.created and stored else None
            ack: Ack = {"ok": True, "message": events.message_payload(result.message, envelope)}
        except SealchatError as exc:
            ack = self._gate.error_ack(exc)
        except Exception:
            log.exception("unexpected error handling a socket event")
            ack = INTERNAL_ACK
        await self._answer(send, ack)

    async def _refuse(self, send: _Send) -> None:
        try:
            ack = self._gate.error_ack(
                await self._messages.refusal(send.sender_id, send.body.room_id)
            )
        except Exception:
            log.exception("unexpected error handling a socket event")
            ack = INTERNAL_ACK
        await self._answer(send, ack)

    async def _answer(self, send: _Send, ack: Ack) -> None:
        self._gate.release(send.sid)
        await self._send_ack(send, ack)

    async def _send_ack(self, send: _Send, ack: Ack) -> None:
        if send.ack_id is not None:
            try:
                await self._sio.send_ack(send.sid, send.ack_id, ack)
            except Exception:  # pragma: no cover - the transport failed under us
                log.exception("sending an ack failed")
