"""Big rooms are delivered in slices, the event loop running between them; per-socket
order holds across concurrent broadcasts and packets sent to one socket (acks)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from engineio import packet as eio_packet
from socketio import packet as sio_packet

from sealchat.adapters.fast_lane import LaneServer, LaneSocket
from sealchat.adapters.socketio_fanout import NOW_RECIPIENTS_MAX, BroadcastManager
from tests.unit.test_fast_lane import FakeProtocol

ROOM = "room:r"


async def build(
    sockets: int, *, slice_size: int
) -> tuple[LaneServer, list[str], list[FakeProtocol]]:
    manager = BroadcastManager()
    manager.delivery_slice = slice_size
    server = LaneServer(
        fast_lane=True,
        inbound_lane=False,  # the fake protocol has no inbound side
        max_unsent_bytes=1 << 20,
        async_mode="asgi",
        client_manager=manager,
    )
    sids, protocols = [], []
    for n in range(sockets):
        eio_sid = f"e{n}"
        socket = LaneSocket(server.eio, eio_sid)
        protocol = FakeProtocol()
        socket.attach(protocol)  # type: ignore[arg-type]
        socket.connected = socket.upgraded = True
        server.eio.sockets[eio_sid] = socket
        sid = await manager.connect(eio_sid, "/")
        await manager.enter_room(sid, "/", ROOM)
        sids.append(sid)
        protocols.append(protocol)
    return server, sids, protocols


def received(protocol: FakeProtocol) -> list[Any]:
    """What one socket got, in order: the event's argument or the ack's (the lane writes
    a turn's frames to a socket in one write: the stream is cut into frames here)."""
    out = []
    stream = b"".join(protocol.transport.written)
    while stream:
        size, start = stream[1], 2
        if size == 126:
            size, start = int.from_bytes(stream[2:4], "big"), 4
        text = stream[start : start + size].decode()
        stream = stream[start + size :]
        assert text.startswith("4")
        body = text[1:].lstrip("0123456789")
        out.append(json.loads(body)[-1])
    return out


async def turn_ends() -> None:
    await asyncio.sleep(0)  # the lane's frames are written at the end of the loop's turn


async def test_a_big_room_is_delivered_in_slices_with_the_loop_running_between() -> None:
    server, _, protocols = await build(10, slice_size=3)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    before = ticks
    await server.emit("message:new", {"n": 1}, to=ROOM)
    task.cancel()
    await turn_ends()
    assert ticks - before >= 3  # 10 sockets in slices of 3: the loop ran between them
    assert all(received(p) == [{"n": 1}] for p in protocols)
    assert server.manager.delivering == 0


async def test_order_holds_across_concurrent_sliced_broadcasts_and_acks() -> None:
    server, sids, protocols = await build(9, slice_size=2)
    last = sids[-1]
    # Broadcasts and acks to the last socket (reached last by every broadcast), at once.
    jobs = []
    for n in range(5):
        jobs.append(server.emit("message:new", {"n": n}, to=ROOM))
        ack = server.packet_class(sio_packet.ACK, namespace="/", id=n, data=[{"ack": n}])
        jobs.append(server._send_packet(server.manager.eio_sid_from_sid(last, "/"), ack))
    await asyncio.gather(*jobs)
    await turn_ends()
    expected = [item for n in range(5) for item in ({"n": n}, {"ack": n})]
    assert received(protocols[-1]) == expected
    for protocol in protocols[:-1]:
        assert received(protocol) == [{"n": n} for n in range(5)]
    assert server.manager.delivering == 0


async def test_a_broadcast_walking_another_order_does_not_overtake_one_being_sliced() -> None:
    server, sids, protocols = await build(9, slice_size=2)
    # Each socket is also in a room of its own (its sid): naming those rooms backwards
    # reaches the last socket first, while the room broadcast reaches it last.
    backwards = list(reversed(sids))
    jobs = []
    for n in range(4):
        jobs.append(server.emit("message:new", {"n": n}, to=ROOM if n % 2 == 0 else backwards))
    await asyncio.gather(*jobs)
    await turn_ends()
    for protocol in protocols:
        assert received(protocol) == [{"n": n} for n in range(4)]


async def test_a_small_room_is_delivered_at_once() -> None:
    server, _, protocols = await build(3, slice_size=3)
    await server.emit("message:new", {"n": 1}, to=ROOM)
    await turn_ends()
    assert all(received(p) == [{"n": 1}] for p in protocols)
    assert server.manager.delivering == 0


async def test_a_small_room_on_the_lane_is_delivered_without_awaiting() -> None:
    server, _, protocols = await build(3, slice_size=3)
    assert server.manager.emit_now("message:new", {"n": 1}, "/", ROOM, None)
    await turn_ends()
    assert all(received(p) == [{"n": 1}] for p in protocols)


async def test_delivery_at_once_sends_nothing_unless_every_socket_can_take_it() -> None:
    server, _, protocols = await build(3, slice_size=3)
    busy = server.eio.sockets["e1"]
    await busy.send(eio_packet.Packet(eio_packet.MESSAGE, '2["queued"]'))  # ahead of it
    assert not server.manager.emit_now("message:new", {"n": 1}, "/", ROOM, None)
    await turn_ends()
    assert all(received(p) == [] for p in protocols)  # nobody got it: the caller awaits emit

    big, _, big_protocols = await build(NOW_RECIPIENTS_MAX + 1, slice_size=128)
    assert not big.manager.emit_now("message:new", {"n": 1}, "/", ROOM, None)
    small, _, _ = await build(2, slice_size=3)
    small.manager.delivering = 1
    assert not small.manager.emit_now("message:new", {"n": 1}, "/", ROOM, None)
    await turn_ends()
    assert all(received(p) == [] for p in big_protocols)


async def test_several_events_reach_a_lane_socket_in_one_write_and_a_queued_one_in_order() -> None:
    server, sids, protocols = await build(6, slice_size=4)  # sliced: two slices
    queued = server.eio.sockets["e2"]
    await queued.send(eio_packet.Packet(eio_packet.MESSAGE, '2["ahead"]'))  # not on the lane
    payloads = [{"n": n} for n in range(3)]
    await server.manager.emit_each("message:new", payloads, "/", ROOM, sids[0])
    await turn_ends()
    assert received(protocols[0]) == []  # the origin is skipped
    for n, protocol in enumerate(protocols[1:], start=1):
        if n == 2:
            continue
        assert received(protocol) == payloads
        assert len(protocol.transport.written) == 1  # the three frames, joined once
    assert [p.data for p in list(queued.queue._queue)] == [
        '2["ahead"]',
        *(f'2["message:new",{{"n": {n}}}]'.replace(" ", "") for n in range(3)),
    ]
    assert server.manager.delivering == 0
