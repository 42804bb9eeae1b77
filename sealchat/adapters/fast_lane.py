"""The websocket fast lane: one pre-built frame per broadcast, written straight to each
recipient's transport when nothing can be ahead of it; a cap on every socket's unsent bytes.

Pieces, from the bottom up:

- ``FastLaneProtocol``: uvicorn's sans-I/O websocket protocol that names itself in the ASGI
  scope, so engine.io's side of the same connection can find its transport. Once engine.io's
  socket attaches, it reads the client's frames itself (the inbound lane, inbound_lane.py):
  each text message is put on uvicorn's queue as uvicorn would, or, when engine.io's reader
  is idle and the message is an inline event (socketio_inline.py), handled right there.
- ``LaneSocket``: python-engineio's ``AsyncSocket`` that knows that protocol, says whether a
  frame may skip its queue and takes it (``lane_write``: written with the turn's other
  frames, one write per connection; ``lane_send``: written at once, for a big room's
  broadcast), counts its unsent bytes and cuts the connection when they pass the cap (the
  client resumes with ``sync``).
- ``LaneServer``: python-socketio's server, on an engine.io server whose sockets are
  ``LaneSocket``.

``BroadcastManager`` (socketio_fanout.py) builds the frame once and calls ``lane_write``
(a small room, at once) or ``lane_send`` (a big room, in slices) for each recipient.
The internals this relies on are listed and checked in fast_lane_pins.py.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import weakref
from collections.abc import Callable
from typing import Any

import engineio
import socketio
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import asgi as eio_asgi
from engineio.async_socket import AsyncSocket
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

from sealchat.adapters.fast_lane_pins import internals_problems
from sealchat.adapters.inbound_lane import InboundLane, websockets_at_rest

log = logging.getLogger(__name__)

SCOPE_EXTENSION = "sealchat.fast_lane"
# What a queued packet that is not a string (the engine.io handshake) counts for.
_SMALL_PACKET = 64


def text_frame(payload: bytes) -> bytes:
    """An unmasked, uncompressed, final websocket text frame (RFC 6455 5.2): what a server
    sends, byte for byte the same for every recipient."""
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 1 << 16:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


# At most this many inline events are handled as they arrive from one read of the socket;
# the rest of a burst is queued for engine.io's reader, which pauses reading until it has
# taken them (backpressure on a client that sends faster than the server stores, and no
# long stall of the event loop on one huge read).
INLINE_PER_READ = 32


class FastLaneProtocol(WebSocketsSansIOProtocol):
    """uvicorn's ``websockets-sansio`` protocol, reachable from the app through the scope.

    Its ASGI ``send`` writes to the transport synchronously (after waiting for it to be
    writable), so a frame written here directly lands in the same byte stream in order.

    The inbound lane (``open_inbound_lane``): incoming bytes go through ``InboundLane``,
    which hands websockets only what it does not parse itself. A text message it parsed is
    offered to engine.io's socket (``LaneSocket.take_inline``: handled now if the reader is
    idle and it is an inline event), else queued for the app exactly as uvicorn queues one
    (the same event, the same pause of reading until the app has taken everything).
    ``unfinished`` counts the messages queued for the app that engine.io's reader has not
    taken yet, whichever parser queued them: while it is not 0, nothing is handled ahead
    of them.
    """

    _inbound: InboundLane | None = None
    _inbound_socket: LaneSocket | None = None
    unfinished = 0
    # Inline events handled as they arrive in this call of data_received (see _lane_text).
    _taken_now = 0

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # Only an accepted handshake has a scope; the app's task has not started yet.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][SCOPE_EXTENSION] = {"protocol": self}

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self._inbound = self._inbound_socket = None
        # Break the protocol -> scope -> protocol cycle now rather than at the next
        # garbage collection.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"].pop(SCOPE_EXTENSION, None)

    def open_inbound_lane(self, socket: LaneSocket) -> None:
        """Parse this connection's frames here from now on (never with compression: those
        frames need websockets' inflater)."""
        if self.compressed or self._inbound is not None:
            return
        limits = [n for n in (self.conn.max_message_size, self.conn.max_fragment_size) if n]
        self._inbound_socket = socket
        self._inbound = InboundLane(
            self._lane_text,
            self._websockets_receive,
            self._websockets_at_rest,
            min(limits or [0xFFFF]),
        )

    def data_received(self, data: bytes) -> None:
        lane = self._inbound
        if lane is None:
            super().data_received(data)
        else:
            self._taken_now = 0
            lane.receive(data)

    def _websockets_receive(self, data: bytes) -> None:
        super().data_received(data)

    def _websockets_at_rest(self) -> bool:
        return (
            self.handshake_complete
            and not self.close_sent
            and not self.disconnected
            and websockets_at_rest(self.conn)
        )

    def _lane_text(self, text: str) -> None:
        """A text message the lane parsed: what ``send_receive_event_to_app`` does with one,
        unless engine.io's socket takes it at once."""
        if self.close_sent:
            return  # as uvicorn: the app is past websocket.close
        socket = self._inbound_socket
        if socket is not None and self._taken_now < INLINE_PER_READ and socket.take_inline(text):
            self._taken_now += 1
            return
        self.queue.put_nowait({"type": "websocket.receive", "text": text})
        self.unfinished += 1
        if not self.read_paused:
            self.read_paused = True
            self.transport.pause_reading()

    def send_receive_event_to_app(self) -> None:
        queued = self.queue.qsize()
        super().send_receive_event_to_app()
        # (bad UTF-8 queues a disconnect instead: counted too, and nothing follows it)
        self.unfinished += self.queue.qsize() - queued

    @property
    def compressed(self) -> bool:
        """Whether permessage-deflate was negotiated: then frames differ per connection."""
        return bool(self.conn.extensions)

    @property
    def open_for_writes(self) -> bool:
        return not (self.close_sent or self.disconnected or self.transport.is_closing())


_DIGITS = frozenset("0123456789")


class _ReadDeadline:
    """A websocket read may wait at most ``seconds``: one timer per socket, moved on only
    when it fires, instead of a timer made and cancelled twice per message (what
    ``asyncio.timeout``'s ``reschedule`` does). The reader sets ``waiting_since`` when it
    starts waiting and clears it when a message is in: handling one is not waiting. Past
    the deadline the reader's task is cancelled, and ``expired`` says why."""

    def __init__(self, seconds: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        self._seconds = seconds
        self.waiting_since: float | None = None
        self.expired = False
        self._timer = self._loop.call_at(self._loop.time() + seconds, self._check)

    def wait_again(self) -> None:
        """A message was handled without the reader (the inbound lane): it waits anew."""
        self.waiting_since = self._loop.time()

    def _check(self) -> None:
        since = self.waiting_since
        now = self._loop.time()
        if since is not None and now - since >= self._seconds and self._task is not None:
            self.expired = True
            self._task.cancel()
            return
        again = (now if since is None else since) + self._seconds
        self._timer = self._loop.call_at(again, self._check)

    def close(self) -> Exception | None:
        """Stop the timer; a TimeoutError if it cut the read (its cancel withdrawn)."""
        self._timer.cancel()
        if self.expired and self._task is not None:
            self.expired = False
            self._task.uncancel()
            return TimeoutError("no websocket message within ping interval + ping timeout")
        return None


class _LaneFlush:
    """The lane's frames leave at the end of the event loop's turn, one write per
    connection: a turn that stores a batch of messages writes each recipient every frame
    it gets from the batch (broadcasts and acks) with one system call instead of one per
    frame. One per event loop; ``add`` schedules the flush with the turn's first frame."""

    _by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LaneFlush] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._sockets: list[LaneSocket] = []

    @classmethod
    def of_running_loop(cls) -> _LaneFlush:
        loop = asyncio.get_running_loop()
        flush = cls._by_loop.get(loop)
        if flush is None:
            flush = cls._by_loop[loop] = cls(loop)
        return flush

    def add(self, socket: LaneSocket) -> None:
        if not self._sockets:
            self._loop.call_soon(self._flush)
        self._sockets.append(socket)

    def _flush(self) -> None:
        sockets, self._sockets = self._sockets, []
        for socket in sockets:
            socket.flush_lane()


def _packet_size(pkt: Any) -> int:
    data = pkt.data
    return len(data) if isinstance(data, str | bytes) else _SMALL_PACKET


class LaneSocket(AsyncSocket):  # type: ignore[misc]
    """An engine.io socket with a fast lane and a cap on its unsent bytes.

    The cap bounds the backlog: a packet is always accepted when nothing is unsent ahead
    of it (so a socket that keeps up gets even a reply bigger than the cap, instead of
    being cut, reconnecting and asking for it again forever); a socket whose unsent bytes
    would pass the cap with something already waiting is cut. Memory per socket is thus
    at most the cap plus one packet.

    Ordering: a frame takes the lane only when the socket's queue is empty and its writer
    holds no packet it has dequeued but not yet written (``_writer_holds``, set when
    ``poll`` hands out a batch and cleared when the writer comes back for more, which it
    does only after writing the whole batch). Otherwise the packet is queued behind the
    others, and the writer sends it in turn.
    """

    # Class attributes: engine.io builds the socket, the server adopts it (see below).
    max_unsent_bytes = 4 * 1024 * 1024
    _protocol: FastLaneProtocol | None = None
    _writer_holds = False
    _queued_bytes = 0
    _held_bytes = 0
    _overflowed = False
    _closer: asyncio.Task[Any] | None = None
    # Lane frames of this turn of the event loop, not yet written (see _LaneFlush).
    _corked: list[bytes] | None = None
    _corked_bytes = 0
    # The reader's deadline while it runs its read loop, and its context as it last
    # started waiting (an inline event handled for it runs there: the same log fields).
    _deadline: _ReadDeadline | None = None
    _reader_context: contextvars.Context | None = None

    def attach(self, protocol: FastLaneProtocol) -> None:
        if not protocol.compressed:
            self._protocol = protocol
            if getattr(self.server, "inbound_lane", False):
                protocol.open_inbound_lane(self)

    def unsent_bytes(self) -> int:
        """Bytes queued in engine.io, held by its writer, waiting in the lane and
        buffered by the transport."""
        buffered = 0
        if self._protocol is not None and not self._protocol.disconnected:
            buffered = self._protocol.transport.get_write_buffer_size()
        return self._queued_bytes + self._held_bytes + self._corked_bytes + buffered

    def flush_lane(self) -> None:
        """Write the lane's waiting frames now, in one write. Frames for a connection that
        is closing are dropped (its client resumes with sync)."""
        corked = self._corked
        if corked is None:
            return
        self._corked = None
        self._corked_bytes = 0
        protocol = self._protocol
        if protocol is None or self._overflowed or not protocol.open_for_writes:
            return
        protocol.transport.write(corked[0] if len(corked) == 1 else b"".join(corked))

    def lane_open(self) -> bool:
        """Whether a frame written now would have nothing ahead of it."""
        protocol = self._protocol
        return not (
            protocol is None
            or self._writer_holds
            or self.queue.qsize()
            or not self.upgraded
            or self.upgrading
            or self.closing
            or self.closed
            or not protocol.open_for_writes
        )

    def lane_write(self, frame: bytes) -> bool:
        """Write ``frame`` straight to the transport if nothing can be ahead of it (at
        the end of this turn of the event loop, with the turn's other frames: _LaneFlush).

        False: the caller must send the packet the normal way (through the queue).
        True: written, or dropped because the socket is being cut for being too slow.
        """
        if not self.lane_open():
            return self._overflowed
        self.cork(frame)
        return True

    def cork(self, frame: bytes) -> None:
        """``lane_write`` for a caller that has just seen ``lane_open`` say True."""
        transport = self._protocol.transport  # type: ignore[union-attr]
        behind = transport.get_write_buffer_size() + self._corked_bytes
        if behind and behind + len(frame) > self.max_unsent_bytes:
            self.overflow(behind + len(frame))
            return
        corked = self._corked
        if corked is None:
            self._corked = [frame]
            _LaneFlush.of_running_loop().add(self)
        else:
            corked.append(frame)
        self._corked_bytes += len(frame)

    def lane_send(self, frame: bytes) -> bool:
        """``lane_write`` for a broadcast to a big room: the frame goes to the transport
        now (one ``write``), not at the end of the turn, unless this socket already has
        frames waiting in this turn (then it waits behind them). A big room's recipients
        get one frame per turn each, so waiting would only cost a second pass over them.
        The checks are ``lane_open``'s, inlined: this runs once per recipient.

        False: the caller must send the packet the normal way (through the queue).
        True: written, or dropped because the socket is being cut for being too slow.
        """
        protocol = self._protocol
        if (
            protocol is None
            or self._writer_holds
            or self.queue._queue
            or not self.upgraded
            or self.upgrading
            or self.closing
            or self.closed
        ):
            return self._overflowed
        transport = protocol.transport
        if protocol.close_sent or protocol.disconnected or transport.is_closing():
            return self._overflowed
        if self._corked is not None:
            self.cork(frame)
            return True
        behind = transport.get_write_buffer_size()
        if behind and behind + len(frame) > self.max_unsent_bytes:
            self.overflow(behind + len(frame))
        else:
            transport.write(frame)
        return True

    def take_inline(self, text: str) -> bool:
        """The inbound lane offers a message as it arrives: True if it was handled here,
        as engine.io's reader would have handled it; False: it goes to the reader.

        Only while the reader is idle: in its read loop, waiting, with nothing queued for
        it and nothing taken that it has not finished (``unfinished``; the reader clears
        ``waiting_since`` as soon as it takes a message). So no message is handled ahead
        of one that arrived before it. The rest is the reader's own checks: the socket
        is this session's, upgraded and open, the message is within the size cap."""
        deadline = self._deadline
        protocol = self._protocol
        server = self.server
        inline_now = server.inline_now
        if (
            deadline is None
            or deadline.waiting_since is None
            or protocol is None
            or protocol.unfinished
            or inline_now is None
            or self._overflowed
            or text[:2] != "42"
            or len(text) > server.max_http_buffer_size
            or server.sockets.get(self.sid) is not self
        ):
            return False
        context = self._reader_context or contextvars.copy_context()
        try:
            handled: bool = context.run(inline_now, self, text[1:])
        except Exception:  # as the reader: logged, and the next message is read
            server.logger.exception("message async handler error")
            handled = True
        if handled:
            deadline.wait_again()  # a busy socket is not a silent one
        return handled

    async def send(self, pkt: Any) -> None:
        if self._overflowed:
            return
        # What the lane took goes first: the writer must not pass it with this packet.
        self.flush_lane()
        behind = self.unsent_bytes()
        await super().send(pkt)
        self._queued_bytes += _packet_size(pkt)
        if behind and behind + _packet_size(pkt) > self.max_unsent_bytes:
            self.overflow(behind + _packet_size(pkt))

    async def poll(self) -> list[Any]:
        """python-engineio's ``poll`` with ``asyncio.timeout`` instead of ``wait_for``
        (which on 3.11 makes a task per wake-up), and tracking of what the writer holds."""
        # The writer asks again only once its last batch is written to the transport.
        self._writer_holds = False
        self._held_bytes = 0
        try:
            async with asyncio.timeout(self.server.ping_interval + self.server.ping_timeout):
                first = await self.queue.get()
            self.queue.task_done()
        except (TimeoutError, asyncio.CancelledError):
            raise eio_exceptions.QueueEmpty() from None
        if first is None:
            return []
        packets = [first]
        while not self.queue.empty():
            pkt = self.queue.get_nowait()
            self.queue.task_done()
            if pkt is None:
                self.queue.put_nowait(None)
                break
            packets.append(pkt)
        self._writer_holds = True
        self._held_bytes, self._queued_bytes = self._queued_bytes, 0
        return packets

    async def _websocket_handler(self, ws: Any) -> None:
        """python-engineio's ``AsyncSocket._websocket_handler`` (4.15.1), with a cheaper
        read loop: engine.io waits for each message in a task of its own under
        ``asyncio.wait_for`` (which on 3.11 adds a future and callbacks), here one
        ``asyncio.timeout`` whose deadline moves on before each read. Same timeout (ping
        interval + ping timeout, for the wait only), same endings. The upgrade handshake
        and the writer are engine.io's, unchanged."""
        server = self.server
        protocol = self._protocol

        async def websocket_wait() -> Any:
            data = await ws.wait()
            if protocol is not None:
                protocol.unfinished -= 1  # taken; the read loop clears waiting_since next
            if data and len(data) > server.max_http_buffer_size:
                raise ValueError("packet is too large")
            return data

        if self.connected:  # type: ignore[has-type]
            # the socket was already connected, so this is an upgrade
            self.upgrading = True  # hold packet sends during the upgrade
            try:
                pkt = await websocket_wait()
            except OSError:  # pragma: no cover
                return
            decoded_pkt = eio_packet.Packet(encoded_packet=pkt)
            if decoded_pkt.packet_type != eio_packet.PING or decoded_pkt.data != "probe":
                server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                self.upgrading = False
                return
            await ws.send(eio_packet.Packet(eio_packet.PONG, data="probe").encode())
            await self.queue.put(eio_packet.Packet(eio_packet.NOOP))  # end poll
            try:
                pkt = await websocket_wait()
            except OSError:  # pragma: no cover
                self.upgrading = False
                return
            decoded_pkt = eio_packet.Packet(encoded_packet=pkt)
            if decoded_pkt.packet_type != eio_packet.UPGRADE:
                self.upgraded = False
                server.logger.info(
                    "%s: Failed websocket upgrade, expected UPGRADE packet, received %s instead.",
                    self.sid,
                    pkt,
                )
                self.upgrading = False
                return
            self.upgraded = True
            self.upgrading = False
        else:
            self.connected = True
            self.upgraded = True

        async def writer() -> None:
            while True:
                packets = None
                try:
                    packets = await self.poll()
                except eio_exceptions.QueueEmpty:
                    break
                if not packets:
                    # empty packet list returned -> connection closed
                    break
                try:
                    for pkt in packets:
                        await ws.send(pkt.encode())
                except BaseException:
                    break
            await ws.close()

        writer_task = asyncio.ensure_future(writer())
        server.logger.info("%s: Upgrade to websocket successful", self.sid)

        wait_seconds = server.ping_interval + server.ping_timeout
        # engine.io hands a MESSAGE packet's text to its "message" handler (python-socketio)
        # and awaits it; with its async_handlers off (python-socketio turns them off) this
        # calls that handler the same way, without building an engine.io Packet.
        on_message = None if server.async_handlers else server.handlers.get("message")
        loop = asyncio.get_running_loop()
        deadline = self._deadline = _ReadDeadline(wait_seconds)
        try:
            while True:
                self._reader_context = contextvars.copy_context()
                deadline.waiting_since = loop.time()
                p = await websocket_wait()
                deadline.waiting_since = None  # handling a packet is not waiting
                if p is None:
                    # connection closed by client
                    break
                if on_message is not None and type(p) is str and p[:1] == "4" and p[1:2] in _DIGITS:
                    # engine.io's _trigger_event: errors logged, the reader goes on
                    try:
                        await on_message(self.sid, p[1:])
                    except asyncio.CancelledError:  # pragma: no cover
                        pass
                    except Exception:
                        server.logger.exception("message async handler error")
                    continue
                pkt = eio_packet.Packet(encoded_packet=p)
                try:
                    await self.receive(pkt)
                except eio_exceptions.UnknownPacketError:  # pragma: no cover
                    pass
                except eio_exceptions.SocketIsClosedError:  # pragma: no cover
                    server.logger.info("Receive error -- socket is closed")
                    break
                except Exception:  # pragma: no cover
                    # if we get an unexpected exception we log the error and exit
                    # the connection properly
                    server.logger.exception("Unknown receive error")
        except (asyncio.CancelledError, Exception) as exc:
            # engine.io ends the connection on any failure to read (a timeout, a closed
            # websocket, a packet over the size cap, shutdown), as here.
            ended = deadline.close() or exc
            server.logger.info("%s: websocket read ended: %r", self.sid, ended)
        deadline.close()
        self._deadline = None

        await self.queue.put(None)  # unlock the writer task so it can exit
        await asyncio.wait_for(writer_task, timeout=None)
        await self.close(wait=False, abort=True, reason=server.reason.TRANSPORT_CLOSE)

    def overflow(self, unsent: int) -> None:
        """Cut a socket that stopped reading; its client reconnects and resumes with sync."""
        if self._overflowed:
            return
        self._overflowed = True
        log.warning(
            "socket %s would have %d unsent bytes, over the cap of %d: disconnecting it",
            self.sid,
            unsent,
            self.max_unsent_bytes,
        )
        ending = False
        while not self.queue.empty():
            ending = self.queue.get_nowait() is None or ending
            self.queue.task_done()
        if ending:  # the handler's "writer, stop" must survive the purge
            self.queue.put_nowait(None)
        self._queued_bytes = 0
        self._corked = None
        self._corked_bytes = 0
        if self._protocol is not None and self.upgraded:
            # engine.io notices the closed websocket and runs the usual disconnect.
            self._protocol.transport.abort()
            return
        # Long-polling (or a websocket without a known protocol): the pending or next
        # poll gets a close packet, and the session ends now.
        self.queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
        self._closer = asyncio.ensure_future(
            self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_ERROR)
        )


class LaneWebSocket(eio_asgi.WebSocket):  # type: ignore[misc]
    """engine.io's ASGI websocket wrapper that hands the socket its uvicorn protocol."""

    async def __call__(self, environ: dict[str, Any]) -> Any:
        socket = getattr(self.handler, "__self__", None)
        extension = environ.get("asgi.scope", {}).get("extensions", {}).get(SCOPE_EXTENSION)
        if isinstance(socket, LaneSocket) and extension is not None:
            socket.attach(extension["protocol"])
        return await super().__call__(environ)


class LaneEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    # Set by LaneServer: sockets read their frames through the inbound lane, and inline
    # events are handled as they arrive when the reader is idle (``LaneSocket.take_inline``).
    inbound_lane = False
    inline_now: Callable[[LaneSocket, str], bool] | None = None

    def __init__(self, *, max_unsent_bytes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_unsent_bytes = max_unsent_bytes
        # A copy: the driver's table is shared by every engine.io server in the process.
        driver: dict[str, Any] = getattr(self, "_async")  # noqa: B009 - untyped attribute
        self._async = {**driver, "websocket": LaneWebSocket}

    async def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
        if event == "connect":
            # engine.io has just built this session's socket; make it a LaneSocket
            # (it names the class inside ``_handle_connect``, so there is no other hook).
            socket = self.sockets.get(args[0])
            if type(socket) is AsyncSocket:
                socket.__class__ = LaneSocket
                socket.max_unsent_bytes = self.max_unsent_bytes
        return await super()._trigger_event(event, *args, **kwargs)


class LaneServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server on ``LaneEngineServer`` (the send buffer cap, and the fast
    lane when ``fast_lane``), if the internals they rely on are the ones they were written
    against; otherwise the stock engine.io server, without either."""

    def __init__(
        self, *, fast_lane: bool, max_unsent_bytes: int, inbound_lane: bool = True, **kwargs: Any
    ) -> None:
        problems = internals_problems()
        if problems:
            log.error("websocket fast lane and send buffer cap are off: %s", "; ".join(problems))
        self.lane_sockets = not problems
        self.fast_lane = fast_lane and self.lane_sockets
        self._max_unsent_bytes = max_unsent_bytes
        self._answers: set[asyncio.Task[None]] = set()
        super().__init__(**kwargs)
        self.inbound_lane = self.fast_lane and inbound_lane
        if self.inbound_lane:
            self.eio.inbound_lane = True
            if hasattr(self, "inline_now"):  # InlineEventServer's, when composed with it
                self.eio.inline_now = self._inline_now

    def _inline_now(self, socket: LaneSocket, data: str) -> bool:
        """An engine.io message handled as it arrives, if it is an inline event and its
        answer, if any, can take the lane now (nothing ahead of it, no broadcast being
        delivered in slices); False: nothing was done."""
        if getattr(self.manager, "delivering", 0) or not socket.lane_open():
            return False
        return bool(self.inline_now(socket.sid, data, self._answer_now))

    def _answer_now(self, eio_sid: str, pkt: Any) -> None:
        """Write an inline handler's ack (``_inline_now`` checked the lane is open, and the
        handler writes nothing itself, so it is)."""
        socket = self.eio.sockets.get(eio_sid)
        encoded = pkt.encode()
        if (
            isinstance(socket, LaneSocket)
            and isinstance(encoded, str)
            and socket.lane_write(text_frame(("4" + encoded).encode()))
        ):
            return
        task = asyncio.ensure_future(self._send_packet(eio_sid, pkt))  # pragma: no cover
        self._answers.add(task)  # pragma: no cover
        task.add_done_callback(self._answers.discard)  # pragma: no cover

    async def _send_packet(self, eio_sid: str, pkt: Any) -> None:
        """Every packet to one socket (acks above all): straight to its transport when
        nothing is ahead of it, like a broadcast; otherwise queued as usual.

        A broadcast being delivered in slices (socketio_fanout.py) goes first: this waits
        for it, so nothing sent to one socket overtakes what was sent to it before."""
        if not self.fast_lane:
            await super()._send_packet(eio_sid, pkt)
            return
        encoded = pkt.encode()
        if not isinstance(encoded, str):  # binary attachments: several engine.io packets
            manager = self.manager
            if getattr(manager, "delivering", 0):
                await manager.wait_for_deliveries()
            for part in encoded:
                await self.eio.send(eio_sid, part)
            return
        await self._send_encoded(eio_sid, encoded)

    def _send_now(self, eio_sid: str, encoded: str) -> bool:
        """One encoded text packet to one socket by the lane, now, if nothing is ahead of
        it (no sliced broadcast under way either); False: nothing was sent."""
        delivering: int = getattr(self.manager, "delivering", 0)
        if not self.fast_lane or delivering:
            return False
        socket = self.eio.sockets.get(eio_sid)
        if not isinstance(socket, LaneSocket) or not socket.lane_open():
            return False
        socket.cork(text_frame(f"4{encoded}".encode()))
        return True

    async def _send_encoded(self, eio_sid: str, encoded: str) -> None:
        """One encoded text packet to one socket, by the lane when nothing is ahead of
        it (after any sliced broadcast under way, as ``_send_packet``)."""
        if not self.fast_lane:
            await self.eio.send(eio_sid, encoded)
            return
        manager = self.manager
        if getattr(manager, "delivering", 0):
            await manager.wait_for_deliveries()
        socket = self.eio.sockets.get(eio_sid)
        if isinstance(socket, LaneSocket) and socket.lane_write(
            text_frame(("4" + encoded).encode())
        ):
            return
        await self.eio.send(eio_sid, encoded)

    def _engineio_server_class(self) -> Any:
        if not self.lane_sockets:
            return engineio.AsyncServer
        return functools.partial(LaneEngineServer, max_unsent_bytes=self._max_unsent_bytes)
