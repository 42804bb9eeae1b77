"""Abuse limits: sockets per user, handshakes per address, and a connection flood that
never authenticates while others keep chatting (memory bounded). The slow reader is in
test_fast_lane.py (cut at the unsent-bytes cap, memory bounded)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest
import socketio
from websockets.asyncio.client import connect

from tests.envelopes import opaque_envelope
from tests.integration.raw_socket import RawSocket
from tests.integration.test_admin import sign_up
from tests.integration.test_fast_lane import rss_bytes
from tests.live_server import start_server


async def test_sockets_per_user_are_capped(tmp_path: Path) -> None:
    server = start_server(tmp_path, {"SEALCHAT_MAX_CONNECTIONS_PER_USER": "3"})
    try:
        alice = await sign_up(server)
        open_ = [RawSocket() for _ in range(3)]
        for sock in open_:
            await sock.connect(server.url, alice["access_token"])
        errors: list[object] = []
        fourth = socketio.AsyncClient(reconnection=False)
        fourth.on("connect_error", errors.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await fourth.connect(
                server.url, auth={"token": alice["access_token"]}, transports=["websocket"]
            )
        await fourth.disconnect()
        assert errors and errors[0]["data"]["code"] == "too_many_connections"  # type: ignore[index]
        await open_[0].close()
        again = RawSocket()
        for _ in range(50):  # the server sees the close a moment later
            try:
                await again.connect(server.url, alice["access_token"])
                break
            except socketio.exceptions.ConnectionError:
                again = RawSocket()
                await asyncio.sleep(0.05)
        assert again.sio.connected
        for sock in [*open_[1:], again]:
            await sock.close()
    finally:
        server.stop()


async def test_handshakes_per_address_are_rate_limited(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        {"SEALCHAT_HANDSHAKE_RATE_PER_SECOND": "0.01", "SEALCHAT_HANDSHAKE_RATE_BURST": "3"},
    )
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            answers = [
                await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
                for _ in range(5)
            ]
        assert [a.status_code for a in answers] == [200, 200, 200, 401, 401]
        assert answers[-1].json()["code"] == "rate_limited"
    finally:
        server.stop()


async def test_a_connection_flood_neither_stops_the_server_nor_grows_it(tmp_path: Path) -> None:
    server = start_server(
        tmp_path,
        {"SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS": "0", "SEALCHAT_SOCKET_AUTH_DEADLINE_SECONDS": "2"},
    )
    host = server.url.removeprefix("http://")
    flood = []
    try:
        alice, bob = await sign_up(server), await sign_up(server)
        headers = {"Authorization": f"Bearer {alice['access_token']}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
            room = (await http.post("/api/rooms", json={"name": "calm"})).json()["room"]["id"]
        async with httpx.AsyncClient(base_url=server.url) as http:
            await http.post(
                f"/api/rooms/{room}/join",
                headers={"Authorization": f"Bearer {bob['access_token']}"},
            )
        sender, listener = RawSocket(), RawSocket()
        await sender.connect(server.url, alice["access_token"])
        await listener.connect(server.url, bob["access_token"])
        before = rss_bytes(server.process.pid)

        async def one_more() -> None:
            ws = await connect(f"ws://{host}/socket.io/?EIO=4&transport=websocket")
            flood.append(ws)
            await ws.recv()  # the open packet; then silence, never a CONNECT

        for wave in range(4):
            await asyncio.gather(*(one_more() for _ in range(100)))
            # Others are served in the middle of it.
            client_msg_id = f"calm-{wave}-{uuid.uuid4().hex[:6]}"
            ack = await sender.call(
                "message:send",
                {
                    "room_id": room,
                    "client_msg_id": client_msg_id,
                    "envelope": opaque_envelope("hi"),
                },
            )
            assert ack["ok"], ack
            await listener.wait_for("message:new", wave + 1)
        grown = rss_bytes(server.process.pid) - before
        assert grown < 64 * 1024 * 1024, grown  # 400 idle sockets: a few MB, not a leak

        # None of them authenticated: each is closed at the deadline.
        async def closed(ws: object) -> bool:
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)  # type: ignore[attr-defined]
            except Exception:
                return True

        assert all(await asyncio.gather(*(closed(ws) for ws in flood)))
        assert sender.sio.connected and listener.sio.connected
        await sender.close()
        await listener.close()
    finally:
        for ws in flood:
            await ws.close()
        server.stop()
    assert "Traceback" not in server.log_text()
