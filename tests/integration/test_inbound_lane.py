"""The inbound lane over real sockets: client frames written in one TCP write or one byte
at a time, mixing sends the lane can handle as they arrive, sends and other events that go
through engine.io's reader, malformed ones and websocket pings. Everything is handled in
the order it was sent: the server numbers the messages in that order, acks each, answers
the ping, and the room sees the messages in order."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.frames import Close, Opcode

from sealchat.adapters.fast_lane import INLINE_PER_READ
from sealchat.client import SealchatClient
from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory, unique_name
from tests.integration.raw_frames import RawFrames, client_frame, text_frame
from tests.integration.test_fast_lane import socket_of
from tests.live_server import LiveServer


async def members(new_client: ClientFactory, count: int) -> tuple[list[SealchatClient], str]:
    clients = [await new_client() for _ in range(count)]
    room = await clients[0].create_room(unique_name("inbound"))
    for client in clients[1:]:
        await client.join(room["id"])
    return clients, room["id"]


async def frames_until_closed(sender: RawFrames) -> list[Any]:
    """Every frame the server sends until it closes the connection."""
    frames = []
    try:
        while True:
            frames.append(await sender.next_frame())
    except EOFError:
        pass
    return frames


def send(ack_id: int, body: dict[str, Any], *, through_reader: bool = False) -> bytes:
    # "42/,<id>" names the "/" namespace explicitly: the same event, but a shape only
    # python-socketio's decoder reads, so it always goes through engine.io's reader.
    prefix = "42/," if through_reader else "42"
    return text_frame(f"{prefix}{ack_id}" + json.dumps(["message:send", body]))


@pytest.mark.parametrize("byte_by_byte", [False, True], ids=["one-write", "byte-by-byte"])
async def test_a_mixed_burst_is_handled_in_the_order_it_was_sent(
    server: LiveServer, new_client: ClientFactory, byte_by_byte: bool
) -> None:
    (alice, bob), room_id = await members(new_client, 2)
    sender = await RawFrames.open(server.url, alice.api.access_token or "")
    watcher = await socket_of(server, bob)

    burst: list[bytes] = []
    sends: list[int] = []  # ack ids of the message:sends, in send order
    refused: dict[int, str] = {}  # ack id -> the refusal expected
    others: list[int] = []  # ack ids of typing and sync
    ack_id = 0
    for i in range(30):
        ack_id += 1
        body = {"room_id": room_id, "client_msg_id": f"m-{i}", "envelope": opaque_envelope(f"{i}")}
        burst.append(send(ack_id, body, through_reader=i % 3 == 2))
        sends.append(ack_id)
        ack_id += 1
        match i % 6:
            case 1:
                burst.append(client_frame(Opcode.PING, f"ping-{i}".encode()))
                ack_id -= 1
            case 2:
                burst.append(
                    text_frame(f"42{ack_id}" + json.dumps(["typing", {"room_id": room_id}]))
                )
                others.append(ack_id)
            case 3:
                burst.append(text_frame(f'42{ack_id}["message:send",{{"room_id":'))  # not JSON
                refused[ack_id] = "invalid_input"
            case 4:
                burst.append(send(ack_id, {"room_id": room_id}))  # no envelope
                refused[ack_id] = "invalid_input"
            case 5:
                burst.append(text_frame(f"42{ack_id}" + json.dumps(["sync", {"cursors": {}}])))
                others.append(ack_id)
            case _:
                ack_id -= 1
    await sender.write(b"".join(burst), byte_by_byte=byte_by_byte)

    everything = set(sends) | set(refused) | set(others)
    while not everything <= set(sender.acks()):
        await sender.next_frame()
    acks = sender.acks()
    assert [acks[i]["ok"] for i in sends] == [True] * len(sends), acks
    # Numbered in send order, whichever path each send took.
    assert [acks[i]["message"]["seq"] for i in sends] == list(range(1, len(sends) + 1))
    assert {i: acks[i]["error"]["code"] for i in refused} == refused
    assert all(acks[i]["ok"] for i in others)
    # The stored messages' acks arrive in send order.
    order = [int(t[2:].split("[", 1)[0]) for t in sender.texts() if t.startswith("43")]
    assert [i for i in order if i in sends] == sends
    # Every ping was answered, in order.
    pongs = [f.data for f in sender.frames if f.opcode is Opcode.PONG]
    assert pongs == [f"ping-{i}".encode() for i in range(30) if i % 6 == 1]

    delivered = await watcher.wait_for("message:new", len(sends), timeout=10)
    assert [m["client_msg_id"] for m in delivered] == [f"m-{i}" for i in range(30)]
    assert [m["seq"] for m in delivered] == list(range(1, len(sends) + 1))
    await sender.close()
    await watcher.close()


async def test_a_close_frame_after_sends_closes_cleanly(
    server: LiveServer, new_client: ClientFactory
) -> None:
    (alice, bob), room_id = await members(new_client, 2)
    sender = await RawFrames.open(server.url, alice.api.access_token or "")
    watcher = await socket_of(server, bob)
    body = {"room_id": room_id, "client_msg_id": "last", "envelope": opaque_envelope("x")}
    close = client_frame(Opcode.CLOSE, Close(1000, "bye").serialize())
    await sender.write(send(1, body) + close + send(2, {**body, "client_msg_id": "never"}))

    frames = await frames_until_closed(sender)
    closes = [Close.parse(f.data) for f in frames if f.opcode is Opcode.CLOSE]
    assert [(c.code, c.reason) for c in closes] == [(1000, "bye")]
    # The send before the close was taken; nothing after it.
    delivered = await watcher.wait_for("message:new", 1, timeout=10)
    assert [m["client_msg_id"] for m in delivered] == ["last"]
    await sender.close()
    await watcher.close()


async def test_a_text_frame_that_is_not_utf8_closes_with_1007(
    server: LiveServer, new_client: ClientFactory
) -> None:
    (alice,), _ = await members(new_client, 1)
    sender = await RawFrames.open(server.url, alice.api.access_token or "")
    await sender.write(client_frame(Opcode.TEXT, b"42\xff\xfe"))
    frames = await frames_until_closed(sender)
    assert [Close.parse(f.data).code for f in frames if f.opcode is Opcode.CLOSE] == [1007]
    await sender.close()


async def test_a_burst_longer_than_one_reads_share_keeps_its_order(
    server: LiveServer, new_client: ClientFactory
) -> None:
    # More plain sends in one TCP write than are handled as they arrive from one read
    # (INLINE_PER_READ): the rest wait for engine.io's reader, behind the first ones.
    (alice, bob), room_id = await members(new_client, 2)
    sender = await RawFrames.open(server.url, alice.api.access_token or "")
    watcher = await socket_of(server, bob)
    count = 3 * INLINE_PER_READ
    burst = [
        send(
            i + 1,
            {"room_id": room_id, "client_msg_id": f"b-{i}", "envelope": opaque_envelope(f"{i}")},
        )
        for i in range(count)
    ]
    await sender.write(b"".join(burst))

    while len(sender.acks()) < count:
        await sender.next_frame()
    acks = sender.acks()
    assert [acks[i + 1]["message"]["seq"] for i in range(count)] == list(range(1, count + 1))
    order = [int(t[2:].split("[", 1)[0]) for t in sender.texts() if t.startswith("43")]
    assert order == list(range(1, count + 1))
    delivered = await watcher.wait_for("message:new", count, timeout=10)
    assert [m["client_msg_id"] for m in delivered] == [f"b-{i}" for i in range(count)]
    await sender.close()
    await watcher.close()
