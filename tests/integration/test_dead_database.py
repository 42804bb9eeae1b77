"""A database that goes away: clear 503s and error acks, no tracebacks, the server lives on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.envelopes import opaque_envelope
from tests.integration.raw_socket import RawSocket, register_with_room
from tests.live_server import start_server
from tests.pg_support import create_temp_database, drop_database

pytestmark = pytest.mark.postgres


async def test_requests_fail_cleanly_while_the_database_is_gone(tmp_path: Path) -> None:
    url = await create_temp_database()
    server = start_server(tmp_path, {"SEALCHAT_DATABASE_URL": url})
    try:
        token, room_id = await register_with_room(server.url, "survivor", "r")
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=server.url) as http:
            sock = RawSocket()
            await sock.connect(server.url, token)

            await drop_database(url)  # the database server forgets us entirely

            rooms = await http.get("/api/rooms", headers=headers)
            assert rooms.status_code == 503
            assert rooms.json()["error"]["code"] == "unavailable"
            login = await http.post(
                "/api/auth/login", json={"username": "survivor", "password": "x" * 12}
            )
            assert login.status_code == 503
            ack = await sock.call(
                "message:send",
                {
                    "room_id": room_id,
                    "client_msg_id": "m1",
                    "envelope": opaque_envelope("m1"),
                },
            )
            assert ack["ok"] is False
            assert ack["error"]["code"] == "unavailable"
            # The same socket still answers, and the server still serves.
            assert (await sock.call("typing", {"room_id": "x"}))["ok"] is False
            assert (await http.get("/healthz")).status_code == 200
            await sock.close()
        await asyncio.sleep(0.1)
        log = server.log_text()
        assert "Traceback" not in log, log[-3000:]
        assert server.process.poll() is None
    finally:
        server.stop()
