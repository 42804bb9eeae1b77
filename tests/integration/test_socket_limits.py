"""Socket resource limits through real sockets against a live server (issue #16 item 4).

The deadline to authenticate, connections per address, rate limits on ``sync`` and
``typing``, and the byte budget of a sync reply and of a history page.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import websockets
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from sealchat.client import SealchatClient
from sealchat.client.errors import ClientError
from sealchat.services.messages import MESSAGE_ALLOWANCE_BYTES
from tests.envelopes import opaque_envelope
from tests.integration.conftest import PASSWORD, unique_name
from tests.integration.raw_socket import RawSocket, register_with_room
from tests.live_server import LiveServer, start_server

DEADLINE = 1.5
REPLY_BYTES = 100_000
BIG = opaque_envelope("x" * 20_000)
BIG_SIZE = len(json.dumps(BIG, separators=(",", ":"))) + MESSAGE_ALLOWANCE_BYTES
CAP = 3


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("limits"),
        {
            "SEALCHAT_SOCKET_AUTH_DEADLINE_SECONDS": str(DEADLINE),
            "SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS": "1000",
            # Practically no refill during a test: the burst is the whole allowance.
            "SEALCHAT_TYPING_RATE_PER_SECOND": "0.001",
            "SEALCHAT_TYPING_RATE_BURST": "3",
            "SEALCHAT_SYNC_RATE_PER_SECOND": "0.001",
            "SEALCHAT_SYNC_RATE_BURST": "4",
            "SEALCHAT_SYNC_REPLY_MAX_BYTES": str(REPLY_BYTES),
            "SEALCHAT_HISTORY_REPLY_MAX_BYTES": str(REPLY_BYTES),
        },
    )
    yield live
    live.stop()


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(
        tmp_path_factory.mktemp("capped"),
        {
            "SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS": str(CAP),
            "SEALCHAT_SOCKET_AUTH_DEADLINE_SECONDS": "60",
            # For the client's sync loop: one sync, then one more every 0.2 s.
            "SEALCHAT_SYNC_RATE_PER_SECOND": "5",
            "SEALCHAT_SYNC_RATE_BURST": "1",
        },
    )
    yield live
    live.stop()


def ws_url(server: LiveServer) -> str:
    return server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


async def open_engine(server: LiveServer) -> ClientConnection:
    """A raw Engine.IO websocket, past the OPEN packet, with no Socket.IO CONNECT."""
    ws = await websockets.connect(ws_url(server))
    opened = await asyncio.wait_for(ws.recv(), 10)
    assert isinstance(opened, str) and opened.startswith("0{")
    return ws


async def next_packet(ws: ClientConnection, prefix: str, timeout: float = 10) -> str:
    """The next packet starting with ``prefix`` (skipping pings and other events)."""
    async with asyncio.timeout(timeout):
        while True:
            packet = await ws.recv()
            assert isinstance(packet, str)
            if packet.startswith(prefix):
                return packet


async def wait_closed(ws: ClientConnection, timeout: float) -> None:
    """Read until the server closes the connection; fail if it is still open at ``timeout``."""
    with pytest.raises(ConnectionClosed):
        async with asyncio.timeout(timeout):
            while True:
                await ws.recv()


@pytest.fixture
async def engines() -> AsyncIterator[list[ClientConnection]]:
    opened: list[ClientConnection] = []
    yield opened
    for ws in opened:
        await ws.close()


# -- the deadline to authenticate ----------------------------------------------------------


async def test_a_connection_that_never_authenticates_is_closed_at_the_deadline(
    server: LiveServer, engines: list[ClientConnection]
) -> None:
    started = time.monotonic()
    ws = await open_engine(server)
    engines.append(ws)
    await wait_closed(ws, DEADLINE + 10)
    assert time.monotonic() - started >= DEADLINE * 0.9


async def test_refused_connects_do_not_extend_the_deadline(
    server: LiveServer, engines: list[ClientConnection]
) -> None:
    started = time.monotonic()
    ws = await open_engine(server)
    engines.append(ws)

    async def keep_trying() -> None:
        while True:
            await ws.send('40{"token":"not-a-token"}')
            refusal = await next_packet(ws, "44")
            assert json.loads(refusal[2:])["data"]["code"] == "unauthorized"
            await asyncio.sleep(DEADLINE / 5)

    with pytest.raises(ConnectionClosed):
        await asyncio.wait_for(keep_trying(), DEADLINE + 10)
    # Ten refusals later it was still the first deadline that closed the connection.
    assert time.monotonic() - started < DEADLINE * 3 + 5


async def test_an_authenticated_connection_stays_until_it_leaves_the_namespace(
    server: LiveServer, engines: list[ClientConnection]
) -> None:
    token, _ = await register_with_room(server.url, unique_name(), "stays")
    ws = await open_engine(server)
    engines.append(ws)
    await ws.send("40" + json.dumps({"token": token}))
    await next_packet(ws, "40")

    await asyncio.sleep(DEADLINE + 1)
    await ws.send('421["sync",{"cursors":{}}]')
    ack = json.loads((await next_packet(ws, "431"))[3:])
    assert ack[0]["ok"] is True

    # Leaving the namespace while keeping the transport open starts the clock again.
    left = time.monotonic()
    await ws.send("41")
    await wait_closed(ws, DEADLINE + 10)
    assert time.monotonic() - left >= DEADLINE * 0.9


# -- the Python client waits out a rate-limited sync ------------------------------------


async def test_the_client_sync_loop_waits_out_rate_limited(capped: LiveServer) -> None:
    client = SealchatClient(capped.url)
    try:
        await client.register(unique_name(), PASSWORD)
        await client.connect()  # its resume sync took the only token
        with pytest.raises(ClientError) as refused:
            await client.emit("sync", {"cursors": {}})
        assert refused.value.code == "rate_limited"
        assert refused.value.retry_after is not None and refused.value.retry_after > 0
        assert await client.sync() == 0
    finally:
        await client.close()


# -- connections per address -----------------------------------------------------------


async def test_connections_per_address_are_capped(
    capped: LiveServer, engines: list[ClientConnection]
) -> None:
    for _ in range(CAP):
        engines.append(await open_engine(capped))

    with pytest.raises(InvalidStatus) as refused:
        await websockets.connect(ws_url(capped))
    assert refused.value.response.status_code == 403
    async with httpx.AsyncClient(base_url=capped.url) as http:
        polling = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        assert polling.status_code == 401
        assert polling.json()["code"] == "too_many_connections"

        # A closed connection frees its place.
        await engines.pop().close()
        async with asyncio.timeout(10):
            while True:
                again = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
                if again.status_code == 200:
                    break
                assert again.status_code == 401
                await asyncio.sleep(0.05)
    assert again.text.startswith("0{")


# -- rate limits ----------------------------------------------------------------------


async def test_typing_beyond_the_limit_is_dropped(server: LiveServer) -> None:
    alice_token, room_id = await register_with_room(server.url, unique_name(), "typing")
    bob_token, _ = await register_with_room(server.url, unique_name(), "bob's")
    async with httpx.AsyncClient(base_url=server.url) as http:
        joined = await http.post(
            f"/api/rooms/{room_id}/join", headers={"Authorization": f"Bearer {bob_token}"}
        )
        assert joined.status_code == 200
    alice, bob = RawSocket(), RawSocket()
    await alice.connect(server.url, alice_token)
    await bob.connect(server.url, bob_token)
    try:
        acks = [await alice.call("typing", {"room_id": room_id}) for _ in range(6)]
        assert [ack["ok"] for ack in acks] == [True] * 3 + [False] * 3
        for refused in acks[3:]:
            assert refused["error"]["code"] == "rate_limited"
            assert refused["error"]["retry_after"] > 0
        # A message after the burst: once bob has it, every typing relayed before it is in.
        sent = await alice.call(
            "message:send",
            {"room_id": room_id, "client_msg_id": "after-typing", "envelope": opaque_envelope("")},
        )
        assert sent["ok"] is True
        await bob.wait_for("message:new")
        assert len(bob.of("typing")) == 3
    finally:
        await alice.close()
        await bob.close()


async def test_sync_is_rate_limited(server: LiveServer) -> None:
    token, room_id = await register_with_room(server.url, unique_name(), "sync-rate")
    sock = RawSocket()
    await sock.connect(server.url, token)
    try:
        acks = [await sock.call("sync", {"cursors": {room_id: 0}}) for _ in range(5)]
        assert [ack["ok"] for ack in acks] == [True] * 4 + [False]
        assert acks[-1]["error"]["code"] == "rate_limited"
        assert acks[-1]["error"]["retry_after"] > 0
    finally:
        await sock.close()


# -- the byte budget of a reply ---------------------------------------------------------


async def test_sync_reply_and_history_page_stop_at_the_byte_budget(server: LiveServer) -> None:
    assert 3 * BIG_SIZE <= REPLY_BYTES < 4 * BIG_SIZE
    token, room_id = await register_with_room(server.url, unique_name(), "big")
    sock = RawSocket()
    await sock.connect(server.url, token)
    try:
        for n in range(5):
            sent = await sock.call(
                "message:send", {"room_id": room_id, "client_msg_id": f"big-{n}", "envelope": BIG}
            )
            assert sent["ok"] is True
        first = await sock.call("sync", {"cursors": {room_id: 0}})
        assert [m["seq"] for m in first["messages"]] == [1, 2, 3]
        assert first["has_more"] == [room_id]
        rest = await sock.call("sync", {"cursors": {room_id: 3}})
        assert [m["seq"] for m in rest["messages"]] == [4, 5]
        assert rest["has_more"] == []
    finally:
        await sock.close()

    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        newest = (await http.get(f"/api/rooms/{room_id}/messages", params={"limit": 50})).json()
        assert [m["seq"] for m in newest["messages"]] == [3, 4, 5]
        assert newest["has_more"] is True
        oldest = await http.get(f"/api/rooms/{room_id}/messages", params={"after_seq": 0})
        assert [m["seq"] for m in oldest.json()["messages"]] == [1, 2, 3]
        assert oldest.json()["has_more"] is True
