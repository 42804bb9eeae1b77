"""A minimal Engine.IO v4 / Socket.IO v5 client on a bare ``websockets`` connection.

Unlike python-socketio's client it can offer permessage-deflate, and it reads only when
told to, so a test can play a reader that stopped reading.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class RawEio:
    def __init__(self, ws: ClientConnection, sid: str) -> None:
        self.ws = ws
        self.sid = sid  # the engine.io session id
        self.events: list[tuple[str, Any]] = []
        self.acks: dict[int, Any] = {}
        self.closed = False
        self._ack_ids = 0

    @classmethod
    async def connect(
        cls, url: str, token: str, *, deflate: bool = False, receive_buffer: int | None = None
    ) -> RawEio:
        """Open a websocket session; ``receive_buffer`` shrinks the kernel's receive buffer
        (so a reader that stops reading backs up into the server quickly)."""
        parts = urlsplit(url)
        sock = None
        if receive_buffer is not None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            sock.connect((parts.hostname, parts.port))
        ws = await connect(
            f"ws://{parts.netloc}/socket.io/?EIO=4&transport=websocket",
            compression="deflate" if deflate else None,
            sock=sock,
            max_size=None,
            max_queue=4,
            ping_interval=None,
        )
        opening = await ws.recv()
        assert isinstance(opening, str) and opening.startswith("0"), opening
        await ws.send("40" + json.dumps({"token": token}))
        client = cls(ws, json.loads(opening[1:])["sid"])
        while True:
            reply = await client.receive()
            if reply.startswith("40"):
                return client
            assert not reply.startswith("44"), reply

    @property
    def deflate_negotiated(self) -> bool:
        assert self.ws.response is not None
        return "permessage-deflate" in self.ws.response.headers.get("Sec-WebSocket-Extensions", "")

    async def receive(self) -> str:
        while True:
            data = await self.ws.recv()
            assert isinstance(data, str)
            if data == "2":  # engine.io ping
                await self.ws.send("3")
                continue
            if data.startswith("42"):
                name, *args = json.loads(data[2:])
                self.events.append((name, args[0] if args else None))
            elif data.startswith("43"):
                digits = len(data) - len(data[2:].lstrip("0123456789"))
                self.acks[int(data[2:digits])] = json.loads(data[digits:])[0]
            return data

    async def emit(self, event: str, payload: Any) -> int:
        """Send an event that asks for an ack; the ack lands in ``acks`` under the id."""
        self._ack_ids += 1
        await self.ws.send(f"42{self._ack_ids}" + json.dumps([event, payload]))
        return self._ack_ids

    def of(self, event: str) -> list[Any]:
        return [payload for name, payload in self.events if name == event]

    async def wait_for(self, event: str, count: int, timeout: float = 10.0) -> list[Any]:
        async def enough() -> None:
            while len(self.of(event)) < count:
                await self.receive()

        await asyncio.wait_for(enough(), timeout)
        return self.of(event)

    async def read_until_closed(self, timeout: float = 10.0) -> None:
        """Read everything the server sent until it closes the connection."""

        async def drain() -> None:
            try:
                while True:
                    await self.receive()
            except ConnectionClosed:
                self.closed = True

        await asyncio.wait_for(drain(), timeout)

    async def close(self) -> None:
        await self.ws.close()
