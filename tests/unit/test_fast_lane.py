"""The fast lane's choices, on a real engine.io socket with a fake transport."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import pytest
from engineio import packet as eio_packet
from websockets.frames import Frame, Opcode

from sealchat.adapters.fast_lane import LaneEngineServer, LaneSocket, text_frame

CAP = 64 * 1024


@dataclass
class FakeTransport:
    written: list[bytes] = field(default_factory=list)
    buffered: int = 0
    aborted: bool = False

    def write(self, data: bytes) -> None:
        self.written.append(data)

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def is_closing(self) -> bool:
        return self.aborted

    def abort(self) -> None:
        self.aborted = True


@dataclass
class FakeProtocol:
    transport: FakeTransport = field(default_factory=FakeTransport)
    compressed: bool = False
    disconnected: bool = False
    close_sent: bool = False
    unfinished: int = 0  # messages queued for engine.io's reader, not yet taken

    @property
    def open_for_writes(self) -> bool:  # as FastLaneProtocol's
        return not (self.close_sent or self.disconnected or self.transport.is_closing())


def message(text: str) -> Any:
    return eio_packet.Packet(eio_packet.MESSAGE, text)


async def lane_socket(*, compressed: bool = False) -> tuple[LaneSocket, FakeProtocol]:
    server = LaneEngineServer(max_unsent_bytes=CAP, async_mode="asgi")
    socket = LaneSocket(server, "sid-1")
    socket.max_unsent_bytes = CAP
    protocol = FakeProtocol(compressed=compressed)
    socket.attach(protocol)  # type: ignore[arg-type]
    socket.connected = socket.upgraded = True
    return socket, protocol


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_frame_is_what_websockets_would_send(size: int) -> None:
    payload = b"x" * size
    assert text_frame(payload) == Frame(Opcode.TEXT, payload).serialize(mask=False)


async def test_an_idle_websocket_takes_the_lane() -> None:
    socket, protocol = await lane_socket()
    assert socket.lane_write(b"frame") is True
    await asyncio.sleep(0)  # written at the end of the loop's turn
    assert protocol.transport.written == [b"frame"]


async def test_the_frames_of_one_turn_leave_in_one_write_in_order() -> None:
    socket, protocol = await lane_socket()
    other, other_protocol = await lane_socket()
    for frame in (b"one", b"two", b"three"):
        assert socket.lane_write(frame) is True
    assert other.lane_write(b"elsewhere") is True
    assert protocol.transport.written == []  # nothing before the turn ends
    await asyncio.sleep(0)
    assert protocol.transport.written == [b"onetwothree"]
    assert other_protocol.transport.written == [b"elsewhere"]
    assert socket.lane_write(b"next turn") is True
    await asyncio.sleep(0)
    assert protocol.transport.written == [b"onetwothree", b"next turn"]


async def test_a_big_rooms_frame_is_written_at_once() -> None:
    socket, protocol = await lane_socket()
    assert socket.lane_send(b"broadcast") is True
    assert protocol.transport.written == [b"broadcast"]  # not at the end of the turn
    await asyncio.sleep(0)
    assert protocol.transport.written == [b"broadcast"]


async def test_a_big_rooms_frame_waits_behind_the_turns_frames() -> None:
    socket, protocol = await lane_socket()
    assert socket.lane_write(b"ack") is True
    assert socket.lane_send(b"broadcast") is True
    assert protocol.transport.written == []
    await asyncio.sleep(0)
    assert protocol.transport.written == [b"ackbroadcast"]


async def test_a_big_rooms_frame_over_the_cap_cuts_the_socket() -> None:
    socket, protocol = await lane_socket()
    protocol.transport.buffered = CAP - 10
    assert socket.lane_send(b"x" * 11) is True  # dropped, not written
    assert protocol.transport.written == [] and protocol.transport.aborted
    assert socket.lane_send(b"next") is True  # cut: dropped too
    assert protocol.transport.written == []


@pytest.mark.parametrize("method", ["lane_write", "lane_send"])
@pytest.mark.parametrize(
    "state", ["compressed", "polling", "upgrading", "closing", "close_sent", "queued", "held"]
)
async def test_a_socket_that_cannot_take_the_lane_sends_the_normal_way(
    method: str, state: str
) -> None:
    socket, protocol = await lane_socket(compressed=state == "compressed")
    if state == "polling":
        socket.upgraded = False
    elif state == "upgrading":
        socket.upgrading = True
    elif state == "closing":
        protocol.transport.aborted = True
    elif state == "close_sent":
        protocol.close_sent = True
    elif state in ("queued", "held"):
        await socket.send(message("first"))
        if state == "held":
            await socket.poll()  # the writer holds it, not yet written
    assert getattr(socket, method)(b"frame") is False
    await asyncio.sleep(0)
    assert protocol.transport.written == []


async def test_a_queued_packet_never_passes_what_the_lane_took() -> None:
    socket, protocol = await lane_socket()
    assert socket.lane_write(b"lane") is True
    await socket.send(message("queued"))  # writes the lane's frames first
    assert protocol.transport.written == [b"lane"]
    assert [p.data for p in await socket.poll()] == ["queued"]
    await asyncio.sleep(0)
    assert protocol.transport.written == [b"lane"]  # not written twice


async def test_waiting_frames_count_toward_the_cap() -> None:
    socket, protocol = await lane_socket()
    assert socket.lane_write(b"a" * (CAP - 10)) is True
    assert socket.unsent_bytes() == CAP - 10
    assert socket.lane_write(b"b" * 11) is True  # over the cap: cut, both dropped
    assert protocol.transport.aborted
    await asyncio.sleep(0)
    assert protocol.transport.written == []


async def test_frames_for_a_closing_connection_are_dropped() -> None:
    socket, protocol = await lane_socket()
    assert socket.lane_write(b"frame") is True
    protocol.transport.aborted = True  # closed before the turn ended
    await asyncio.sleep(0)
    assert protocol.transport.written == []


async def test_a_batch_the_writer_holds_is_not_overtaken() -> None:
    socket, protocol = await lane_socket()
    await socket.send(message("first"))
    batch = await socket.poll()  # the writer took it: the queue is empty, nothing written
    assert [p.data for p in batch] == ["first"]
    assert socket.queue.qsize() == 0
    assert socket.lane_write(b"second") is False
    # The writer comes back for more only after writing its whole batch.
    waiting = asyncio.ensure_future(socket.poll())
    await asyncio.sleep(0)
    assert socket.lane_write(b"third") is True
    await asyncio.sleep(0)
    assert protocol.transport.written == [b"third"]
    waiting.cancel()


async def test_a_websocket_over_the_cap_is_cut_and_gets_nothing_more() -> None:
    socket, protocol = await lane_socket()
    protocol.transport.buffered = CAP - 10
    assert socket.lane_write(b"x" * 11) is True  # dropped, not written
    assert protocol.transport.written == []
    assert protocol.transport.aborted
    await socket.send(message("late"))
    assert socket.queue.qsize() == 0


async def test_one_packet_bigger_than_the_cap_passes_when_nothing_is_ahead() -> None:
    socket, protocol = await lane_socket()
    assert socket.lane_write(b"z" * (2 * CAP)) is True
    await asyncio.sleep(0)
    assert len(protocol.transport.written) == 1 and not protocol.transport.aborted
    protocol.transport.buffered = 2 * CAP  # the kernel did not take it: now it is a backlog
    assert socket.lane_write(b"next") is True
    assert protocol.transport.aborted and len(protocol.transport.written) == 1


async def test_queued_bytes_count_toward_the_cap() -> None:
    server = LaneEngineServer(max_unsent_bytes=CAP, async_mode="asgi")
    socket = LaneSocket(server, "sid-2")  # long-polling: no transport of its own
    socket.max_unsent_bytes = CAP
    closed: list[Any] = []

    async def close(**kwargs: Any) -> None:
        closed.append(kwargs)

    socket.close = close
    chunk = "y" * (16 * 1024)
    for _ in range(4):
        await socket.send(message(chunk))
    assert socket.queue.qsize() == 4 and not closed
    await socket.send(message(chunk))
    # Cut: the queue holds only the close packet the next poll will carry.
    assert [p.packet_type for p in await socket.poll()] == [eio_packet.CLOSE]
    await asyncio.sleep(0)
    assert closed


async def test_cutting_a_socket_keeps_the_writers_stop_signal() -> None:
    socket, protocol = await lane_socket()
    await socket.send(message("x" * 1000))
    socket.queue.put_nowait(None)  # the websocket handler is ending
    protocol.transport.buffered = CAP
    await socket.send(message("over"))
    assert protocol.transport.aborted
    assert await socket.poll() == []  # the writer still stops


class FakeWebSocket:
    """What engine.io's reader sees of a websocket: ``wait`` gives the next message."""

    def __init__(self) -> None:
        self.incoming: asyncio.Queue[Any] = asyncio.Queue()
        self.sent: list[Any] = []

    async def wait(self) -> Any:
        return await self.incoming.get()

    async def send(self, data: Any) -> None:
        self.sent.append(data)

    async def close(self) -> None:
        pass


async def reading_socket(wait_seconds: float) -> tuple[LaneSocket, list[Any], FakeWebSocket]:
    server = LaneEngineServer(
        max_unsent_bytes=CAP,
        async_mode="asgi",
        ping_interval=wait_seconds / 2,
        ping_timeout=wait_seconds / 2,
    )
    received: list[Any] = []

    async def on_message(sid: str, data: Any) -> None:
        received.append(data)
        if data == "2boom":
            raise RuntimeError("a handler bug")
        if data == "2slow":
            await asyncio.sleep(wait_seconds * 3)  # handling is not waiting

    server.on("message", on_message)
    socket = LaneSocket(server, "sid-1")
    server.sockets["sid-1"] = socket
    return socket, received, FakeWebSocket()


async def test_the_reader_hands_packets_on_in_order_and_ends_when_the_client_goes() -> None:
    socket, received, ws = await reading_socket(60)
    for text in ('42["a"]', "42boom", '4{"x":1}', "42slow", '420["b"]', None):
        ws.incoming.put_nowait(text)

    await asyncio.wait_for(socket._websocket_handler(ws), 5)

    # Socket.IO packets go on as their text; anything else the way engine.io decodes it.
    assert received == ['2["a"]', "2boom", {"x": 1}, "2slow", '20["b"]']
    assert socket.closed


async def test_a_reader_waiting_past_the_deadline_ends_and_handling_does_not_count() -> None:
    socket, received, ws = await reading_socket(0.1)
    ws.incoming.put_nowait("42slow")  # handled for 0.3 s: longer than the deadline
    ws.incoming.put_nowait('42["after"]')
    reader = asyncio.ensure_future(socket._websocket_handler(ws))

    await asyncio.wait_for(reader, 5)  # then nothing more comes: the read times out

    assert received == ["2slow", '2["after"]']
    assert socket.closed and not reader.cancelled()
    assert reader.cancelling() == 0  # the deadline withdrew its cancel


async def idle_reader(
    on_message: Any = None,
) -> tuple[LaneSocket, FakeProtocol, list[str], FakeWebSocket, Any]:
    """A reader in its read loop, waiting, with the inbound lane offering it messages."""
    socket, _, ws = await reading_socket(60)
    socket.server.async_handlers = False  # as python-socketio sets it: handled in the reader
    if on_message is not None:
        socket.server.on("message", on_message)
    protocol = FakeProtocol()
    socket._protocol = protocol  # type: ignore[assignment]
    handled: list[str] = []

    def inline_now(sock: LaneSocket, data: str) -> bool:
        handled.append(data)
        return "inline" in data

    socket.server.inline_now = inline_now
    reader = asyncio.ensure_future(socket._websocket_handler(ws))
    while socket._deadline is None or socket._deadline.waiting_since is None:
        await asyncio.sleep(0)
    return socket, protocol, handled, ws, reader


async def test_an_idle_reader_lets_inline_events_be_handled_as_they_arrive() -> None:
    socket, protocol, handled, ws, reader = await idle_reader()

    assert socket.take_inline('42["inline"]')
    assert not socket.take_inline('42["other"]')  # not an inline event: to the reader
    assert not socket.take_inline('40{"token":1}')  # not an event
    assert not socket.take_inline('42["inline",' + "x" * socket.server.max_http_buffer_size)
    assert handled == ['2["inline"]', '2["other"]']

    protocol.unfinished = 1  # a message is queued and the reader has not taken it
    assert not socket.take_inline('42["inline"]')
    protocol.unfinished = 0
    socket.server.sockets.pop(socket.sid)  # no longer this session's socket
    assert not socket.take_inline('42["inline"]')
    assert handled == ['2["inline"]', '2["other"]']

    protocol.unfinished += 1
    ws.incoming.put_nowait(None)
    await asyncio.wait_for(reader, 5)
    assert not socket.take_inline('42["inline"]')  # the read loop is over


async def test_a_reader_handling_a_message_is_not_idle() -> None:
    done = asyncio.Event()

    async def slow(sid: str, data: Any) -> None:
        await done.wait()

    socket, protocol, _, ws, reader = await idle_reader(slow)
    protocol.unfinished += 1  # what the protocol does as it queues a message
    ws.incoming.put_nowait('42["queued"]')
    assert not socket.take_inline('42["inline"]')  # queued, the reader not woken yet
    while protocol.unfinished:
        await asyncio.sleep(0)
    assert not socket.take_inline('42["inline"]')  # taken, being handled
    done.set()
    while socket._deadline is None or socket._deadline.waiting_since is None:
        await asyncio.sleep(0)
    assert socket.take_inline('42["inline"]')  # finished: idle again
    ws.incoming.put_nowait(None)
    await asyncio.wait_for(reader, 5)


async def test_inline_events_keep_a_busy_reader_alive_and_silence_still_ends_it() -> None:
    socket, _, _, _, reader = await idle_reader()
    deadline = socket._deadline
    assert deadline is not None and deadline.waiting_since is not None
    loop = asyncio.get_running_loop()

    deadline.waiting_since -= 100  # as if it had been waiting far past the deadline...
    assert socket.take_inline('42["inline"]')  # ...but a message came in
    deadline._check()  # the timer fires now
    await asyncio.sleep(0)
    assert not reader.done() and loop.time() - deadline.waiting_since < 50

    deadline.waiting_since -= 100  # silent from here on
    deadline._check()
    await asyncio.wait_for(reader, 5)
    assert socket.closed and reader.cancelling() == 0
