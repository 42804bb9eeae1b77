"""The library internals the websocket fast lane (fast_lane.py) relies on, and a check of them.

The fast lane reaches below python-engineio's and uvicorn's public APIs. It was written and
tested against exactly the versions in ``PINNED`` (requirements/constraints.txt pins the same);
``internals_problems`` says what differs in the running environment. The server checks at
start-up and runs without the lane when anything differs; tests/unit/test_fast_lane_pins.py
fails on any difference, so an upgrade is a deliberate act: re-read the code named below,
re-run the ordering tests, then move the pins.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib import metadata

PINNED = {
    "python-engineio": "4.15.1",
    "python-socketio": "5.18.1",
    "uvicorn": "0.54.0",
    "websockets": "17.4",
}


def _source(get: Callable[[], object]) -> str:
    try:
        return inspect.getsource(get())  # type: ignore[arg-type]
    except (AttributeError, ImportError, OSError, TypeError):
        return ""


def _asyncio_queue_qsize() -> object:
    import asyncio

    return asyncio.Queue.qsize


def _engineio_handle_connect() -> object:
    from engineio.async_server import AsyncServer

    return AsyncServer._handle_connect


def _engineio_websocket_handler() -> object:
    from engineio.async_socket import AsyncSocket

    return AsyncSocket._websocket_handler


def _engineio_upgrade() -> object:
    from engineio.async_socket import AsyncSocket

    return AsyncSocket._upgrade_websocket


def _engineio_asgi_websocket() -> object:
    from engineio.async_drivers.asgi import WebSocket

    return WebSocket


def _uvicorn_sansio() -> object:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    return WebSocketsSansIOProtocol


def _socketio_base_server() -> object:
    from socketio.base_server import BaseServer

    return BaseServer.__init__


def _engineio_receive() -> object:
    from engineio.async_socket import AsyncSocket

    return AsyncSocket.receive


def _socketio_handle_event() -> object:
    from socketio.async_server import AsyncServer

    return AsyncServer._handle_event


def _socketio_handle_eio_message() -> object:
    from socketio.async_server import AsyncServer

    return AsyncServer._handle_eio_message


def _websockets_parse() -> object:
    from websockets.protocol import Protocol

    return Protocol.parse


def _websockets_recv_frame() -> object:
    from websockets.protocol import Protocol

    return Protocol.recv_frame


def _websockets_frame_parse() -> object:
    from websockets.frames import Frame

    return Frame.parse


def _websockets_server_parse() -> object:
    from websockets.server import ServerProtocol

    return ServerProtocol.parse


def _websockets_at_eof() -> object:
    from websockets.streams import StreamReader

    return StreamReader.at_eof


def _uvicorn_send_receive() -> object:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    return WebSocketsSansIOProtocol.send_receive_event_to_app


def _uvicorn_receive() -> object:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    return WebSocketsSansIOProtocol.receive


def _uvicorn_data_received() -> object:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

    return WebSocketsSansIOProtocol.data_received


def _socketio_packet_decode() -> object:
    from socketio.packet import Packet

    return Packet.decode


# (where, what must be in its source, why the fast lane (or inline events) needs it)
EXPECTED_SOURCE: list[tuple[str, Callable[[], object], str, str]] = [
    (
        "asyncio Queue.qsize",
        _asyncio_queue_qsize,
        "return len(self._queue)",
        "LaneSocket.lane_send reads the socket queue's deque itself (once per recipient)",
    ),
    (
        "engineio AsyncServer._handle_connect",
        _engineio_handle_connect,
        "async_socket.AsyncSocket(self, sid)",
        "sockets are built there and adopted as LaneSocket on the 'connect' event",
    ),
    (
        "engineio AsyncServer._handle_connect",
        _engineio_handle_connect,
        "await self._trigger_event('connect', sid, environ",
        "the 'connect' event is the adoption hook",
    ),
    (
        "engineio AsyncSocket._websocket_handler",
        _engineio_websocket_handler,
        "packets = await self.poll()",
        "the writer takes packets only through poll (what the writer holds is tracked there)",
    ),
    (
        "engineio AsyncSocket._websocket_handler",
        _engineio_websocket_handler,
        "for pkt in packets:\n                        await ws.send(pkt.encode())",
        "the writer writes its whole batch before it polls again",
    ),
    (
        "engineio AsyncSocket._websocket_handler",
        _engineio_websocket_handler,
        "p = await asyncio.wait_for(\n                    wait_task,",
        "LaneSocket._websocket_handler is a copy of this version's, with a cheaper read loop",
    ),
    (
        "engineio AsyncSocket._upgrade_websocket",
        _engineio_upgrade,
        "self.server._async['websocket'](\n            self._websocket_handler, self.server)",
        "the websocket wrapper comes from the server's driver table and gets the handler",
    ),
    (
        "engineio asgi WebSocket",
        _engineio_asgi_websocket,
        "self.handler = handler",
        "the wrapper finds its socket through the bound handler",
    ),
    (
        "uvicorn WebSocketsSansIOProtocol",
        _uvicorn_sansio,
        '"extensions": {"websocket.http.response": {}},',
        "the protocol names itself in the scope's extensions",
    ),
    (
        "uvicorn WebSocketsSansIOProtocol",
        _uvicorn_sansio,
        "self.conn.send_text(text_data.encode())\n"
        "                    output = self.conn.data_to_send()\n"
        '                    self.transport.write(b"".join(output))',
        "ASGI sends are written to the transport synchronously, in order",
    ),
    (
        "socketio BaseServer.__init__",
        _socketio_base_server,
        "self.eio = self._engineio_server_class()(**engineio_options)",
        "the engine.io server is built through _engineio_server_class",
    ),
    (
        "engineio AsyncSocket.receive",
        _engineio_receive,
        "elif pkt.packet_type == packet.MESSAGE:\n"
        "            await self.server._trigger_event(\n"
        "                'message', self.sid, pkt.data,\n"
        "                run_async=self.server.async_handlers)",
        "the reader hands a MESSAGE packet's text to the 'message' handler as receive does",
    ),
    (
        "socketio BaseServer.__init__",
        _socketio_base_server,
        "engineio_options['async_handlers'] = False",
        "engine.io's 'message' handler is awaited in the reader (no task of its own)",
    ),
    (
        "socketio AsyncServer._handle_eio_message",
        _socketio_handle_eio_message,
        "elif pkt.packet_type == packet.EVENT:\n"
        "                await self._handle_event(eio_sid, pkt.namespace, pkt.id,\n"
        "                                         pkt.data)",
        "every decoded event goes through _handle_event (socketio_inline.py's hook)",
    ),
    (
        "socketio AsyncServer._handle_event",
        _socketio_handle_event,
        "sid = self.manager.sid_from_eio_sid(eio_sid, namespace)\n        self.logger.info(",
        "inline events look the socket up and check it as _handle_event does",
    ),
    (
        "socketio AsyncServer._handle_event",
        _socketio_handle_event,
        "if not self.manager.is_connected(sid, namespace):",
        "inline events look the socket up and check it as _handle_event does",
    ),
    # The inbound lane (inbound_lane.py): where websockets' parser rests between frames.
    (
        "websockets Protocol.parse",
        _websockets_parse,
        "if (yield from self.reader.at_eof()):",
        "between two frames the parser waits in reader.at_eof (websockets_at_rest)",
    ),
    (
        "websockets Protocol.parse",
        _websockets_parse,
        "frame = yield from Frame.parse(\n"
        "                    self.reader.read_exact,\n"
        "                    mask=self.side is SERVER,\n"
        "                    max_size=max_size,",
        "a frame is read from the reader's buffer, masked, up to max_size",
    ),
    (
        "websockets ServerProtocol.parse",
        _websockets_server_parse,
        "yield from super().parse()",
        "after the handshake the server's parser delegates to Protocol.parse",
    ),
    (
        "websockets StreamReader.at_eof",
        _websockets_at_eof,
        "if self.buffer:\n                return False",
        "the reader's bytes are in its buffer",
    ),
    (
        "websockets Protocol.recv_frame",
        _websockets_recv_frame,
        "if not frame.fin:\n                self.current_size = len(frame.data)",
        "current_size is set while a fragmented message is under way",
    ),
    (
        "websockets Frame.parse",
        _websockets_frame_parse,
        "data = apply_mask(data, mask_bytes)",
        "the payload is unmasked with apply_mask, as the lane does",
    ),
    (
        "uvicorn WebSocketsSansIOProtocol.data_received",
        _uvicorn_data_received,
        "self.conn.receive_data(data)",
        "bytes the lane hands over go through uvicorn's own data_received",
    ),
    (
        "uvicorn WebSocketsSansIOProtocol.send_receive_event_to_app",
        _uvicorn_send_receive,
        'self.queue.put_nowait({"type": "websocket.receive", "text": data.decode()})',
        "a text message is queued for the app as this event (the lane queues the same)",
    ),
    (
        "uvicorn WebSocketsSansIOProtocol.send_receive_event_to_app",
        _uvicorn_send_receive,
        "if not self.read_paused:\n"
        "            self.read_paused = True\n"
        "            self.transport.pause_reading()",
        "reading pauses while the app has messages queued (the lane does the same)",
    ),
    (
        "uvicorn WebSocketsSansIOProtocol.receive",
        _uvicorn_receive,
        "message = await self.queue.get()\n        if self.read_paused and self.queue.empty():",
        "the app takes queued messages in order; reading resumes once all are taken",
    ),
    (
        "engineio asgi WebSocket",
        _engineio_asgi_websocket,
        "async def wait(self):\n        event = await self.asgi_receive()",
        "each wait takes one event off uvicorn's queue (the reader counts it as taken)",
    ),
    (
        "socketio Packet.decode",
        _socketio_packet_decode,
        "if ep and ep[0].isdigit():",
        "an EVENT's ack id follows its type; inline_now reads the same shape",
    ),
    (
        "socketio Packet.decode",
        _socketio_packet_decode,
        "self.data = self.json.loads(ep)",
        "an EVENT's arguments are one JSON text, decoded with the packet class's json",
    ),
    (
        "socketio AsyncServer._handle_eio_message",
        _socketio_handle_eio_message,
        "if eio_sid in self._binary_packet:",
        "a text message after a binary event is an attachment (inline_now leaves it)",
    ),
]


def internals_problems() -> list[str]:
    """What differs from the versions and internals the fast lane was written against."""
    problems = []
    for dist, version in PINNED.items():
        try:
            installed = metadata.version(dist)
        except metadata.PackageNotFoundError:
            installed = "missing"
        if installed != version:
            problems.append(f"{dist} is {installed}, the fast lane is pinned to {version}")
    for where, get, snippet, why in EXPECTED_SOURCE:
        if snippet not in _source(get):
            problems.append(f"{where} changed ({why})")
    return problems
