"""Events handled inline: no task per event for the hot ones (``message:send``).

python-socketio starts a task for every incoming event (``async_handlers``), whose
handler then awaits its outcome. An *inline* handler instead runs synchronously in the
socket's reader, as the packet is decoded: it checks and queues the work and returns at
once, either with an ack to send now (a refusal) or with ``None``, when it will answer
later itself through ``send_ack`` (group commit: from the batch's completion). Every
other event takes python-socketio's usual path.

This overrides ``AsyncServer._handle_event`` (python-socketio 5.18.1), checked with the
fast lane's pins (fast_lane_pins.py); when they differ, ``on_inline`` refuses and the
event is registered the usual way.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import socketio
from socketio import packet

from sealchat.adapters.fast_lane_pins import internals_problems
from sealchat.domain.encoded import EncodedJson

NAMESPACE = "/"

# (sid, ack id or None, the event's arguments) -> an ack to send now, or None
InlineHandler = Callable[[str, int | None, list[Any]], dict[str, Any] | None]


class InlineEventServer(socketio.AsyncServer):  # type: ignore[misc]
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._inline: dict[str, InlineHandler] = {}
        self.inline_events = not internals_problems()

    def on_inline(self, event: str, handler: InlineHandler) -> bool:
        """Handle ``event`` of the ``/`` namespace inline; False when that is not possible
        here (the caller registers a normal handler instead)."""
        if not self.inline_events:
            return False
        self._inline[event] = handler
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
