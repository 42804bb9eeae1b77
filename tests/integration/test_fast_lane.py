"""The websocket fast lane over real sockets: per-socket order whichever path a packet takes,
long-polling and compressed sockets beside it, and a reader that stops reading is cut."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sealchat.client import SealchatClient
from tests.envelopes import b64, opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.node_client import NodeClient
from tests.integration.raw_eio import RawEio
from tests.integration.raw_socket import RawSocket
from tests.live_server import LiveServer, start_server

CAP = 256 * 1024


async def socket_of(server: LiveServer, client: SealchatClient) -> RawSocket:
    sock = RawSocket()
    assert client.api.access_token
    await sock.connect(server.url, client.api.access_token)
    return sock


async def members(new_client: ClientFactory, count: int) -> tuple[list[SealchatClient], str]:
    clients = [await new_client() for _ in range(count)]
    room = await clients[0].create_room(f"fast-lane-{os.urandom(4).hex()}")
    for client in clients[1:]:
        await client.join(room["id"])
    return clients, room["id"]


async def send_burst(sock: RawSocket, room_id: str, prefix: str, count: int) -> list[int]:
    """``count`` sends, three in flight at a time; the seqs the server gave them."""
    seqs: list[int] = []
    for start in range(0, count, 3):
        acks = await asyncio.gather(
            *(
                sock.call(
                    "message:send",
                    {
                        "room_id": room_id,
                        "client_msg_id": f"{prefix}-{i}",
                        "envelope": opaque_envelope(f"{prefix}{i}"),
                    },
                )
                for i in range(start, min(start + 3, count))
            )
        )
        assert all(ack["ok"] for ack in acks), acks
        seqs += [ack["message"]["seq"] for ack in acks]
    return seqs


async def node_messages(node: NodeClient, count: int) -> list[int]:
    while len(node.events("message:new")) < count:
        await node.next_line(timeout=20)
    return [m["seq"] for m in node.events("message:new")]


@pytest.mark.node
@pytest.mark.parametrize("more_watchers", [0, 40], ids=["small-room", "big-room"])
async def test_every_socket_gets_every_message_in_order_whichever_path_it_takes(
    server: LiveServer, new_client: ClientFactory, more_watchers: int
) -> None:
    # Each sender is also a receiver: its acks go through engine.io's queue while the
    # others' messages may take the lane, so both paths interleave on the same socket.
    # "big-room": over 32 sockets, so broadcasts take the sliced path, where a batch's run
    # of messages from one socket goes out as one broadcast (one write per recipient).
    # (each user may hold 20 connections: the watchers are three more members' sockets)
    (alice, bob, carol, *more), room_id = await members(new_client, 6 if more_watchers else 3)
    senders = [await socket_of(server, c) for c in (alice, bob, carol)]
    watcher = await RawEio.connect(server.url, carol.api.access_token or "")
    watchers = [
        await RawEio.connect(server.url, more[n % len(more)].api.access_token or "")
        for n in range(more_watchers)
    ]
    polling = await NodeClient.start(server.url, bob.api.access_token or "", ("polling",))
    upgrading = await NodeClient.start(
        server.url, alice.api.access_token or "", ("polling", "websocket")
    )
    try:
        for node in (polling, upgrading):
            await node.wait(lambda line: line["type"] == "connected")
        per_sender = 30
        total = per_sender * len(senders)
        sent = await asyncio.gather(
            *(send_burst(s, room_id, f"s{n}", per_sender) for n, s in enumerate(senders))
        )
        everything = list(range(1, total + 1))
        assert sorted(seq for seqs in sent for seq in seqs) == everything
        # The reference order is the order of publication, as the long-polling client
        # (always the normal path) saw it; concurrent sends may be published out of seq
        # order, but every socket must see them in the same order, each exactly once.
        published = await node_messages(polling, total)
        assert sorted(published) == everything
        assert await node_messages(upgrading, total) == published
        assert [m["seq"] for m in await watcher.wait_for("message:new", total)] == published
        for other in watchers:
            assert [m["seq"] for m in await other.wait_for("message:new", total)] == published
        for sock, own in zip(senders, sent, strict=True):
            got = await sock.wait_for("message:new", total - per_sender, timeout=20)
            assert [m["seq"] for m in got] == [s for s in published if s not in own]
        await asyncio.sleep(0.2)  # nothing twice
        assert len(watcher.of("message:new")) == total
        assert len(senders[0].of("message:new")) == total - per_sender
    finally:
        for node in (polling, upgrading):
            await node.close()
        for sock in senders:
            await sock.close()
        for other in (watcher, *watchers):
            await other.close()


@pytest.fixture(scope="module")
def roomy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A cap far above what the test below leaves unread."""
    live = start_server(
        tmp_path_factory.mktemp("roomy"), {"SEALCHAT_SOCKET_SEND_BUFFER_MAX_BYTES": str(1 << 26)}
    )
    yield live
    live.stop()


@pytest.mark.node
async def test_a_socket_that_pauses_reading_gets_queue_then_lane_in_order(
    roomy_server: LiveServer,
) -> None:
    # While carol does not read, her connection's buffers fill (the kernel's, then
    # uvicorn's past its high-water mark): engine.io's writer stalls mid-send on her own
    # acks and broadcasts queue up behind it. Once she reads again the writer drains and
    # frames take the lane again. Her order must match the long-polling reference.
    clients = []
    for name in ("alice", "bob", "carol"):
        client = SealchatClient(roomy_server.url)
        await client.register(f"{name}-{os.urandom(4).hex()}", "correct horse battery")
        clients.append(client)
    alice, bob, carol = clients
    room_id = (await alice.create_room("pause"))["id"]
    for client in (bob, carol):
        await client.join(room_id)
    sender = await socket_of(roomy_server, alice)
    polling = await NodeClient.start(roomy_server.url, bob.api.access_token or "", ("polling",))
    paused = await RawEio.connect(
        roomy_server.url, carol.api.access_token or "", receive_buffer=8192
    )
    # Alice's first 110 (6 MB) are more than the kernel buffers (tcp_wmem's 4 MB at most).
    from_alice, from_carol = 150, 30

    async def send(start: int, stop: int) -> None:
        for i in range(start, stop):
            ack = await sender.call(
                "message:send",
                {"room_id": room_id, "client_msg_id": f"a-{i}", "envelope": big_envelope(i)},
            )
            assert ack["ok"], ack
            if i % 5 == 4:
                await paused.emit(
                    "message:send",
                    {
                        "room_id": room_id,
                        "client_msg_id": f"c-{i}",
                        "envelope": opaque_envelope(f"c{i}"),
                    },
                )

    async def read_all() -> None:
        while len(paused.of("message:new")) < from_alice or len(paused.acks) < from_carol:
            await paused.receive()

    try:
        await polling.wait(lambda line: line["type"] == "connected")
        await send(0, 110)
        reading = asyncio.ensure_future(read_all())
        await send(110, from_alice)
        await asyncio.wait_for(reading, 60)
        published = await node_messages(polling, from_alice + from_carol)
        assert sorted(published) == list(range(1, from_alice + from_carol + 1))
        own = {ack["message"]["seq"] for ack in paused.acks.values()}
        assert len(own) == from_carol
        got = [m["seq"] for m in paused.of("message:new")]
        assert got == [s for s in published if s not in own]
    finally:
        await polling.close()
        await sender.close()
        await paused.close()
        for client in clients:
            await client.close()


@pytest.fixture(scope="module")
def deflate_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server that accepts permessage-deflate, as an embedder's uvicorn may."""
    live = start_server(
        tmp_path_factory.mktemp("deflate"), {"SEALCHAT_WEBSOCKET_PER_MESSAGE_DEFLATE": "true"}
    )
    yield live
    live.stop()


async def test_a_compressed_socket_gets_its_own_frames_in_order(
    deflate_server: LiveServer,
) -> None:
    clients = []
    for _ in range(2):
        client = SealchatClient(deflate_server.url)
        await client.register(f"deflate-{os.urandom(4).hex()}", "correct horse battery")
        clients.append(client)
    alice, bob = clients
    room = await alice.create_room("deflate")
    await bob.join(room["id"])
    compressed = await RawEio.connect(deflate_server.url, bob.api.access_token or "", deflate=True)
    plain = await RawEio.connect(deflate_server.url, bob.api.access_token or "")
    sender = await socket_of(deflate_server, alice)
    try:
        assert compressed.deflate_negotiated and not plain.deflate_negotiated
        seqs = await send_burst(sender, room["id"], "d", 30)
        for sock in (compressed, plain):
            got = await sock.wait_for("message:new", 30)
            assert [m["seq"] for m in got] == sorted(seqs)
            by_seq = sorted(range(30), key=lambda i: seqs[i])
            assert [m["envelope"] for m in got] == [opaque_envelope(f"d{i}") for i in by_seq]
    finally:
        await sender.close()
        for raw in (compressed, plain):
            await raw.close()
        for client in clients:
            await client.close()


@pytest.fixture(scope="module")
def capped_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("capped"), {"SEALCHAT_SOCKET_SEND_BUFFER_MAX_BYTES": str(CAP)}
    )
    yield live
    live.stop()


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def big_envelope(i: int, size: int = 40 * 1024) -> dict[str, object]:
    envelope = opaque_envelope(f"big{i}")
    envelope["ct"] = b64(os.urandom(size))  # 40 KiB: about 55 KB on the wire
    return envelope


async def test_a_reader_that_stops_reading_is_cut_and_the_others_keep_up(
    capped_server: LiveServer,
) -> None:
    clients = []
    for _ in range(2):
        client = SealchatClient(capped_server.url)
        await client.register(f"slow-{os.urandom(4).hex()}", "correct horse battery")
        clients.append(client)
    alice, bob = clients
    room = await alice.create_room("slow")
    await bob.join(room["id"])
    token = bob.api.access_token or ""
    # It answers nothing and reads nothing once connected; the kernel buffers little.
    stalled = await RawEio.connect(capped_server.url, token, receive_buffer=8192)
    reader = await RawEio.connect(capped_server.url, token)
    sender = await socket_of(capped_server, alice)
    count = 300  # about 16 MB for each reader
    rss_before = rss_bytes(capped_server.process.pid)
    try:
        reading = asyncio.ensure_future(reader.wait_for("message:new", count, timeout=60))
        for i in range(count):
            ack = await sender.call(
                "message:send",
                {"room_id": room["id"], "client_msg_id": f"big-{i}", "envelope": big_envelope(i)},
            )
            assert ack["ok"], ack
        assert [m["seq"] for m in await reading] == list(range(1, count + 1))
        grown = rss_bytes(capped_server.process.pid) - rss_before
        await stalled.read_until_closed(timeout=20)
        assert stalled.closed
        got = [m["seq"] for m in stalled.of("message:new")]
        assert got == list(range(1, len(got) + 1)) and len(got) < count
        # The server cut it at the cap instead of buffering the rest of the 16 MB.
        assert f"over the cap of {CAP}: disconnecting it" in capped_server.log_text()
        assert grown < 8 * 1024 * 1024, grown
        # It comes back and resumes (a reply bigger than the cap is fine when nothing
        # is waiting ahead of it).
        back = RawSocket()
        await back.connect(capped_server.url, token)
        last = got[-1] if got else 0
        missed = await back.call("sync", {"cursors": {room["id"]: max(last, count - 5)}})
        assert [m["seq"] for m in missed["messages"]] == list(
            range(max(last, count - 5) + 1, count + 1)
        )
        await back.close()
    finally:
        await sender.close()
        await reader.close()
        for client in clients:
            await client.close()


async def test_a_long_polling_client_that_stops_polling_is_cut_at_the_cap(
    capped_server: LiveServer,
) -> None:
    clients = []
    for _ in range(2):
        client = SealchatClient(capped_server.url)
        await client.register(f"poll-{os.urandom(4).hex()}", "correct horse battery")
        clients.append(client)
    alice, bob = clients
    room = await alice.create_room("stopped-polling")
    await bob.join(room["id"])
    sender = await socket_of(capped_server, alice)
    path = "/socket.io/"
    try:
        async with httpx.AsyncClient(base_url=capped_server.url, timeout=10) as http:
            opened = await http.get(path, params={"EIO": "4", "transport": "polling"})
            session = {
                "EIO": "4",
                "transport": "polling",
                "sid": json.loads(opened.text[1:])["sid"],
            }
            auth = "40" + json.dumps({"token": bob.api.access_token})
            assert (await http.post(path, params=session, content=auth)).status_code == 200
            assert (await http.get(path, params=session)).text.startswith("40")
            # Bob's client stops polling; ten envelopes of about 55 KB pile up for it.
            for i in range(10):
                ack = await sender.call(
                    "message:send",
                    {"room_id": room["id"], "client_msg_id": f"p-{i}", "envelope": big_envelope(i)},
                )
                assert ack["ok"], ack
            cut = f"socket {session['sid']} would have"
            assert cut in capped_server.log_text()
            # What it finds when it polls again: the close packet, or its session gone.
            after = await http.get(path, params=session)
            assert after.status_code == 400 or after.text.split("\x1e")[0] == "1", after.text
            assert "p-9" not in after.text
    finally:
        await sender.close()
        for client in clients:
            await client.close()
