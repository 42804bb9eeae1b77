"""An acknowledged message survives SIGKILL of the server, also in the middle of a batch."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.envelopes import opaque_envelope
from tests.integration.raw_socket import RawSocket, register_with_room
from tests.live_server import LiveServer, start_server
from tests.pg_support import create_temp_database, drop_database

SOCKETS = 4
IN_FLIGHT_PER_SOCKET = 16


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_env(request: pytest.FixtureRequest) -> AsyncIterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    url = await create_temp_database()
    try:
        yield {"SEALCHAT_DATABASE_URL": url}
    finally:
        await drop_database(url)


async def _send_until_killed(server: LiveServer, token: str, room_id: str) -> list[dict[str, Any]]:
    """Keep many sends in flight from several sockets; return every ok ack's message."""
    acked: list[dict[str, Any]] = []
    sockets = [RawSocket() for _ in range(SOCKETS)]
    lanes: list[asyncio.Task[None]] = []

    async def lane(sock: RawSocket, lane_id: str) -> None:
        with contextlib.suppress(Exception):  # the server dies under it
            for n in range(100_000):
                client_msg_id = f"s{lane_id}-{n}"
                ack = await sock.call(
                    "message:send",
                    {
                        "room_id": room_id,
                        "client_msg_id": client_msg_id,
                        "envelope": opaque_envelope(client_msg_id),
                    },
                )
                if ack.get("ok"):
                    acked.append(ack["message"])

    for index, sock in enumerate(sockets):
        await sock.connect(server.url, token)
        lanes += [
            asyncio.create_task(lane(sock, f"{index}.{k}")) for k in range(IN_FLIGHT_PER_SOCKET)
        ]
    # Let the senders get going, then kill the server with batches in flight.
    async with asyncio.timeout(30):
        while len(acked) < 300:
            await asyncio.sleep(0.01)
    server.process.kill()
    server.process.wait()
    acked_before_kill = list(acked)  # acks arriving later were sent before the kill, too
    await asyncio.sleep(0.2)
    for task in lanes:
        task.cancel()
    await asyncio.gather(*lanes, return_exceptions=True)
    for sock in sockets:
        with contextlib.suppress(Exception):
            await sock.close()
    assert len(acked) >= len(acked_before_kill)
    return list(acked)


async def test_acknowledged_messages_survive_a_kill_mid_batch(
    tmp_path: Path, database_env: dict[str, str]
) -> None:
    server = start_server(tmp_path, database_env)
    try:
        token, room_id = await register_with_room(server.url, "durable", "r")
        acked = await _send_until_killed(server, token, room_id)
    finally:
        server.stop()

    restarted = start_server(tmp_path, database_env)
    try:
        async with httpx.AsyncClient(base_url=restarted.url) as http:
            login = await http.post(
                "/api/auth/login", json={"username": "durable", "password": "x" * 12}
            )
            token = login.json()["access_token"]
        sock = RawSocket()
        await sock.connect(restarted.url, token)
        stored: list[dict[str, Any]] = []
        while True:
            ack = await sock.call("sync", {"cursors": {room_id: len(stored)}})
            stored += ack["messages"]
            if room_id not in ack["has_more"]:
                break
        await sock.close()
    finally:
        restarted.stop()

    assert len(acked) >= 300
    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(1, len(stored) + 1))  # dense, nothing half-written
    by_client_id = {m["client_msg_id"]: m for m in stored}
    for message in acked:
        assert by_client_id[message["client_msg_id"]]["seq"] == message["seq"]
        assert by_client_id[message["client_msg_id"]]["id"] == message["id"]
