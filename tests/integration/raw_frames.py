"""A websocket client that writes its own frames: any frames, in one TCP write or one
byte at a time. websockets' sans-I/O client does the handshake and reads the server's
frames; what is sent is built here, masked as a client must."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.uri import parse_uri


def client_frame(opcode: Opcode, data: bytes) -> bytes:
    return Frame(opcode, data).serialize(mask=True)


def text_frame(text: str) -> bytes:
    return client_frame(Opcode.TEXT, text.encode())


class RawFrames:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.conn: ClientProtocol
        self.frames: list[Frame] = []  # everything the server sent, in order
        self._pending: list[object] = []  # parsed, not yet returned

    @classmethod
    async def open(cls, url: str, token: str) -> RawFrames:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        client = cls(reader, writer)
        client.conn = ClientProtocol(
            parse_uri(f"ws://{parts.netloc}/socket.io/?EIO=4&transport=websocket"),
            max_size=None,
        )
        client.conn.send_request(client.conn.connect())
        client._flush()
        opening = await client.next_text()
        assert opening.startswith("0"), opening
        await client.write(text_frame("40" + json.dumps({"token": token})))
        while not (reply := await client.next_text()).startswith("40"):
            assert not reply.startswith("44"), reply
        return client

    def _flush(self) -> None:
        for data in self.conn.data_to_send():
            if data:
                self.writer.write(data)

    async def write(self, data: bytes, *, byte_by_byte: bool = False) -> None:
        if not byte_by_byte:
            self.writer.write(data)
            await self.writer.drain()
            return
        for i in range(len(data)):
            self.writer.write(data[i : i + 1])
            await self.writer.drain()

    async def next_frame(self, timeout: float = 10.0) -> Frame:
        """The next frame from the server (engine.io pings answered on the way)."""
        while True:
            self._pending += self.conn.events_received()
            while self._pending:
                event = self._pending.pop(0)
                if isinstance(event, Frame):
                    self.frames.append(event)
                    if event.opcode is Opcode.TEXT and event.data == b"2":
                        self.writer.write(text_frame("3"))
                        continue
                    return event
            try:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
            except ConnectionResetError:  # our reply to its close came after it hung up
                data = b""
            if not data:
                self.conn.receive_eof()
                raise EOFError("the server closed the connection")
            self.conn.receive_data(data)
            self._flush()

    async def next_text(self) -> str:
        while True:
            frame = await self.next_frame()
            if frame.opcode is Opcode.TEXT:
                return bytes(frame.data).decode()

    def texts(self) -> list[str]:
        return [bytes(f.data).decode() for f in self.frames if f.opcode is Opcode.TEXT]

    def acks(self) -> dict[int, Any]:
        """Socket.IO acks received so far, by id."""
        found = {}
        for text in self.texts():
            if text.startswith("43"):
                digits = len(text) - len(text[2:].lstrip("0123456789"))
                found[int(text[2:digits])] = json.loads(text[digits:])[0]
        return found

    def events(self, name: str) -> list[Any]:
        return [
            args[1] if len(args) > 1 else None
            for text in self.texts()
            if text.startswith("42[") and (args := json.loads(text[2:]))[0] == name
        ]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):  # the server closed first
            await self.writer.wait_closed()
