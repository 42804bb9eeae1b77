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

from sealchat.domain.encoded import EncodedJson

log = logging.getLogger(__name__)


class MalformedPacket(ValueError):
    """A packet's JSON could not be decoded (too deep, or not JSON at all)."""


# engine.io's guard against huge integers, in a decoder built once (``json.loads`` with
# a keyword builds a decoder per call).
_DECODER = json.JSONDecoder(parse_int=engineio_json._safe_int)
# What an ``EncodedJson`` stands for while the rest of a packet is encoded: a string no
# field of a payload holds (the count is checked before splicing all the same).
_MARK = "\x00sealchat:encoded\x00"
_MARK_JSON = json.dumps(_MARK)


def _plain(value: object) -> object:
    if isinstance(value, EncodedJson):
        return value.value
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(obj: Any, *args: Any, **kwargs: Any) -> str:
    """``json.dumps`` that writes an ``EncodedJson`` (the send path's envelope) as the
    text it was encoded to once, instead of encoding the object again."""
    if args or "default" in kwargs:
        return json.dumps(obj, *args, **kwargs)
    encoded: list[str] = []

    def mark(value: object) -> str:
        if isinstance(value, EncodedJson):
            encoded.append(value.text)
            return _MARK
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    text = json.dumps(obj, default=mark, **kwargs)
    if not encoded:
        return text
    parts = text.split(_MARK_JSON)
    if len(parts) != len(encoded) + 1:  # pragma: no cover - the mark inside a payload
        return json.dumps(obj, default=_plain, **kwargs)
    out = [parts[0]]
    for piece, rest in zip(encoded, parts[1:], strict=True):
        out.append(piece)
        out.append(rest)
    return "".join(out)


class PacketJson:
    """A JSON module for ``socketio.AsyncServer(json=...)``: engine.io's own (with its
    guard against huge integers), with ``RecursionError`` turned into a ``ValueError``,
    and an encoder that writes pre-encoded objects (``EncodedJson``) as they are."""

    dumps = staticmethod(dumps)

    @staticmethod
    def loads(text: str | bytes, *args: Any, **kwargs: Any) -> Any:
        try:
            if args or kwargs:
                return engineio_json.loads(text, *args, **kwargs)
            if isinstance(text, bytes | bytearray):
                text = text.decode()
            return _DECODER.decode(text)
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
