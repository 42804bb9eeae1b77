"""Socket.IO packet decoding that refuses hostile input cleanly.

python-socketio (and python-engineio) decode each text packet with ``json.loads``
before any handler of ours runs, and log a traceback for any packet they cannot decode.
Nesting a few thousand arrays deep made the decoder raise ``RecursionError``, which
neither library expects: a long traceback for every such packet. Here the JSON module
maps it to ``ValueError`` (what both libraries expect of bad JSON), every decoding
failure becomes ``MalformedPacket``, and the server answers a malformed event with an
``invalid_input`` ack (when it carried an ack id) and one info line instead of an error.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import socketio
from engineio import json as engineio_json
from socketio import packet as sio_packet

log = logging.getLogger(__name__)


class MalformedPacket(ValueError):
    """A packet's JSON could not be decoded (too deep, or not JSON at all)."""


class PacketJson:
    """A JSON module for ``socketio.AsyncServer(json=...)``: engine.io's own (with its
    guard against huge integers), with ``RecursionError`` turned into a ``ValueError``."""

    dumps = staticmethod(json.dumps)  # the encoder is unchanged (and on the hot path)

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            return engineio_json.loads(text, *args, **kwargs)
        except RecursionError:
            raise MalformedPacket("JSON nested too deeply") from None
        except ValueError as exc:
            raise MalformedPacket(str(exc)[:200]) from None


class GuardedPacket(sio_packet.Packet):  # type: ignore[misc]
    """A Socket.IO packet whose decoding failures are all ``MalformedPacket``: a bad
    type, namespace or id is the client's mistake, like bad JSON."""

    json = PacketJson

    def decode(self, encoded_packet: Any) -> Any:
        try:
            return super().decode(encoded_packet)
        except MalformedPacket:
            raise
        except (ValueError, IndexError, TypeError) as exc:
            raise MalformedPacket(f"not a Socket.IO packet: {str(exc)[:100]}") from None


def _refusal(message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": "invalid_input", "message": message}}


def _event_header(data: Any) -> GuardedPacket | None:
    """The type, namespace and ack id of a text packet, parsed without its JSON payload."""
    if not isinstance(data, str):
        return None
    payload_at = min((i for i in (data.find("["), data.find("{")) if i >= 0), default=len(data))
    try:
        return GuardedPacket(encoded_packet=data[:payload_at])
    except MalformedPacket:
        return None


class PacketGuardServer(socketio.AsyncServer):  # type: ignore[misc]
    """An ``AsyncServer`` that answers undecodable packets instead of logging a traceback.

    Build it with ``serializer=GuardedPacket, json=PacketJson``.
    """

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except MalformedPacket as exc:
            header = _event_header(data)
            log.info("refused an undecodable socket packet: %s", exc)
            if header is not None and header.packet_type == sio_packet.EVENT and header.id:
                ack = self.packet_class(
                    sio_packet.ACK,
                    namespace=header.namespace or "/",
                    id=header.id,
                    data=[_refusal(f"the payload is not acceptable JSON: {exc}")],
                )
                await self._send_packet(eio_sid, ack)
