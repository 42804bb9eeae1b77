"""Slow clients (slowloris): many connections from one address trickling request heads
never finish them, while others sign in, connect a socket and chat; each slow connection
is closed by the server at the head deadline (sealchat/adapters/slow_clients.py)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from pathlib import Path

import httpx

from tests.envelopes import opaque_envelope
from tests.integration.raw_socket import RawSocket
from tests.integration.test_admin import sign_up
from tests.integration.test_fast_lane import rss_bytes
from tests.live_server import start_server

# Four times the default cap of Engine.IO connections per address (50): slow heads never
# reach Engine.IO, so that cap cannot refuse them; the head deadline is what ends them.
SLOW_CONNECTIONS = 200
HEAD_DEADLINE_SECONDS = 15  # far longer than the traffic below takes, even on a busy host
CLOSED_WITHIN_SECONDS = HEAD_DEADLINE_SECONDS + 20


class SlowHead:
    """A connection sending a request head one header byte at a time, never ending it."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.trickle = asyncio.create_task(self._trickle())

    @classmethod
    async def open(cls, host: str, port: int, path: str) -> SlowHead:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode())
        return cls(reader, writer)

    async def _trickle(self) -> None:
        with contextlib.suppress(ConnectionError):
            while not self.writer.is_closing():
                self.writer.write(b"a")
                await self.writer.drain()
                await asyncio.sleep(0.5)

    async def closed_by_server(self) -> bool:
        """True once the server closes the connection without having answered it."""
        try:
            async with asyncio.timeout(CLOSED_WITHIN_SECONDS):
                answered = await self.reader.read()
        except TimeoutError:
            return False
        except ConnectionResetError:
            answered = b""
        return answered == b""

    async def close(self) -> None:
        self.trickle.cancel()
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def test_slow_heads_neither_stop_others_nor_outlive_the_deadline(tmp_path: Path) -> None:
    server = start_server(
        tmp_path, {"SEALCHAT_HTTP_HEADER_TIMEOUT_SECONDS": str(HEAD_DEADLINE_SECONDS)}
    )
    host, port = server.url.removeprefix("http://").split(":")
    slow: list[SlowHead] = []
    try:
        alice, bob = await sign_up(server), await sign_up(server)
        headers = {"Authorization": f"Bearer {alice['access_token']}"}
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
            room = (await http.post("/api/rooms", json={"name": "calm"})).json()["room"]["id"]
            joined = await http.post(
                f"/api/rooms/{room}/join",
                headers={"Authorization": f"Bearer {bob['access_token']}"},
            )
            assert joined.status_code == 200, joined.text
        listener = RawSocket()
        await listener.connect(server.url, bob["access_token"])
        before = rss_bytes(server.process.pid)

        paths = ["/socket.io/?EIO=4&transport=polling", "/api/rooms", "/healthz", "/"]
        slow = list(
            await asyncio.gather(
                *(SlowHead.open(host, int(port), paths[i % 4]) for i in range(SLOW_CONNECTIONS))
            )
        )

        # Meanwhile others are served: a sign-in, REST, a new socket, a message delivered.
        carol = await sign_up(server)
        async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
            rooms = await http.get("/api/rooms")
            assert rooms.status_code == 200 and rooms.json()["rooms"][0]["id"] == room
        sender = RawSocket()
        await sender.connect(server.url, alice["access_token"])
        ack = await sender.call(
            "message:send",
            {
                "room_id": room,
                "client_msg_id": f"calm-{uuid.uuid4().hex[:6]}",
                "envelope": opaque_envelope("hi"),
            },
        )
        assert ack["ok"], ack
        await listener.wait_for("message:new", 1)
        assert carol["access_token"]
        grown = rss_bytes(server.process.pid) - before
        assert grown < 64 * 1024 * 1024, grown  # a socket and a parser each: not a leak

        # None of them ever finishes its head: each is closed, unanswered, at the deadline.
        assert all(await asyncio.gather(*(s.closed_by_server() for s in slow)))
        assert sender.sio.connected and listener.sio.connected
        await sender.close()
        await listener.close()
        assert server.process.poll() is None
    finally:
        for s in slow:
            await s.close()
        server.stop()
    assert "Traceback" not in server.log_text()
