"""Events handled inline: no task per event for the hot ones (``message:send``).

python-socketio starts a task for every incoming event (``async_handlers``), whose
handler then awaits its outcome. An *inline* handler instead runs synchronously in the
socket's reader, as the packet is decoded: it checks and queues the work and returns at
once, either with an ack to send now (a refusal) or with ``None``, when it will answer
later itself through ``send_ack`` (group commit: from the batch's completion). Every
other event takes python-socketio's usual path.

``inline_now`` is the same for an event the inbound lane (inbound_lane.py, fast_lane.py)
offers as it arrives, engine.io's reader being idle: decoded from the engine.io message's
text directly, handled, and the refusal ack, if any, handed to ``answer`` to be written now.
Whatever it cannot take (another event, another namespace, JSON that does not decode, a
packet shape it does not read) it leaves untouched for the usual path, which decodes and
refuses it the usual way.

This overrides ``AsyncServer._handle_event`` (python-socketio 5.18.1), checked with the
fast lane's pins (fast_lane_pins.py); when they differ, ``on_inline`` refuses and the
event is registered the usual way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import socketio
from socketio import packet

from sealchat.adapters.fast_lane_pins import internals_problems
from sealchat.domain.encoded import EncodedJson

NAMESPACE = "/"

# (sid, ack id or None, the event's arguments) -> an ack to send now, or None
InlineHandler = Callable[[str, int | None, list[Any]], dict[str, Any] | None]
# A Socket.IO EVENT of the "/" namespace, its ack id if any, then its JSON array: the shape
# python-socketio's Packet.decode reads as such (ASCII digits only; ids it would refuse as
# too long go its way).
_EVENT_HEAD = re.compile(r"2([0-9]{0,18})\[")


class InlineEventServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._inline: dict[str, InlineHandler] = {}
        self._inline_heads: tuple[str, ...] = ()
        self.inline_events = not internals_problems()

    def on_inline(self, event: str, handler: InlineHandler) -> bool:
        """Handle ``event`` of the ``/`` namespace inline; False when that is not possible
        here (the caller registers a normal handler instead)."""
        if not self.inline_events:
            return False
        self._inline[event] = handler
        self._inline_heads = tuple("[" + json.dumps(name) for name in self._inline)
        return True

    def inline_now(self, eio_sid: str, data: str, answer: Callable[[str, Any], None]) -> bool:
        """Handle the Socket.IO packet ``data`` now if it is an inline event; False when it
        is not one (nothing done: it takes the usual path). As ``_handle_event``: a socket
        not connected to ``/`` gets nothing; a refusal with an ack id is answered."""
        head = _EVENT_HEAD.match(data)
        if (
            head is None
            or not data.startswith(self._inline_heads, head.end() - 1)
            or eio_sid in self._binary_packet
        ):
            return False
        try:
            decoded = self.packet_class.json.loads(data[head.end() - 1 :])
        except Exception:  # the usual path decodes it again, and refuses it
            return False
        if type(decoded) is not list or not decoded or type(decoded[0]) is not str:
            return False
        handler = self._inline.get(decoded[0])
        if handler is None:
            return False
        digits = head.group(1)
        ack_id = int(digits) if digits else None
        sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        if not self.manager.is_connected(sid, NAMESPACE):
            return True
        ack = handler(sid, ack_id, decoded[1:])
        if ack is not None and ack_id is not None:
            answer(
                eio_sid, self.packet_class(packet.ACK, namespace=NAMESPACE, id=ack_id, data=[ack])
            )
        return True

    async def send_ack(self, sid: str, ack_id: int, ack: Mapping[str, Any]) -> None:
        """Send an inline handler's answer (the socket may be gone: then nothing).

        A pre-encoded answer (``EncodedJson``: a stored message's ack) becomes its packet
        by concatenation, without python-socketio's packet object and its walk of the
        data looking for binary parts."""
        eio_sid = self.manager.eio_sid_from_sid(sid, NAMESPACE)
        if eio_sid is None:
            return
        if isinstance(ack, EncodedJson):
            await self._send_encoded(eio_sid, f"{packet.ACK}{ack_id}[{ack.text}]")
            return
        await self._send_packet(
            eio_sid, self.packet_class(packet.ACK, namespace=NAMESPACE, id=ack_id, data=[ack])
        )

    def send_ack_now(self, sid: str, ack_id: int, ack: Mapping[str, Any]) -> bool:
        """``send_ack`` of a pre-encoded answer done at once, if the socket's fast lane is
        free (``_send_now``); False: nothing was sent. A socket that is gone: True."""
        if not isinstance(ack, EncodedJson):
            return False
        eio_sid = self.manager.eio_sid_from_sid(sid, NAMESPACE)
        return eio_sid is None or self._send_now(eio_sid, f"{packet.ACK}{ack_id}[{ack.text}]")

    def _send_now(self, eio_sid: str, encoded: str) -> bool:
        """Send one encoded text packet at once if possible (``LaneServer``: the lane)."""
        return False

    async def _send_encoded(self, eio_sid: str, encoded: str) -> None:
        """Send one encoded text packet (``LaneServer`` takes the fast lane for it)."""
        await self.eio.send(eio_sid, encoded)

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        event = data[0] if isinstance(data, list) and data else None
        handler = self._inline.get(event) if isinstance(event, str) else None
        if handler is None or (namespace or NAMESPACE) != NAMESPACE:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        sid = self.manager.sid_from_eio_sid(eio_sid, NAMESPACE)
        if not self.manager.is_connected(sid, NAMESPACE):
            return
        ack = handler(sid, id, data[1:])
        if ack is not None and id is not None:
            await self._send_packet(
                eio_sid, self.packet_class(packet.ACK, namespace=NAMESPACE, id=id, data=[ack])
            )
