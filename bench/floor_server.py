"""The floor: the least a server can do for the bench's load, to show the machine's limit.

    python bench/floor_server.py PORT

Plain asyncio on uvloop, no framework. It speaks just enough HTTP, WebSocket (RFC 6455,
no extensions, so never compressed), Engine.IO v4 and Socket.IO v5 for bench/node's
sender (socket.io-client, websocket transport) and raw receivers: the handshake, the
``40`` connect (the socket joins the room named in its auth, ``{"room": ...}``), pings
and ``message:send`` with an ack. Per message it parses the packet, builds the
``message:new`` packet and its websocket frame **once**, acks, and writes that same frame
to every other socket in the room with ``transport.write``. No storage, no checks.
What it costs per delivery is about the cost of the system calls alone.

GET /healthz answers 200; GET /_bench/lag/start and /_bench/lag/stop run the same
event-loop lag probe as bench/sealchat_server.py.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import json
import math
import sys
import time
import uuid
from typing import Any

import uvloop

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PING_SECONDS = 25
PROBE_SECONDS = 0.002
OPEN = json.dumps(
    {"upgrades": [], "pingInterval": PING_SECONDS * 1000, "pingTimeout": 20000, "maxPayload": 1e6}
)


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked, final websocket frame (server to client)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 127)) + n.to_bytes(8, "big")
    return head + payload


def unmask(data: bytes, mask: bytes) -> bytes:
    n = len(data)
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class Floor:
    def __init__(self) -> None:
        self.rooms: dict[str, set[Connection]] = {}
        self.seq: dict[str, int] = {}
        self.lag: list[float] | None = None
        self.lag_task: asyncio.Task[None] | None = None

    async def probe(self, samples: list[float]) -> None:
        while True:
            due = time.perf_counter() + PROBE_SECONDS
            await asyncio.sleep(PROBE_SECONDS)
            samples.append((time.perf_counter() - due) * 1000)

    def lag_command(self, path: str) -> dict[str, Any]:
        if self.lag_task is not None:
            self.lag_task.cancel()
            self.lag_task = None
        if path == "/_bench/lag/start":
            self.lag = []
            self.lag_task = asyncio.get_running_loop().create_task(self.probe(self.lag))
            return {"ok": True}
        ordered = sorted(self.lag or [])
        self.lag = None

        def at(p: float) -> float | None:
            return ordered[max(0, math.ceil(p * len(ordered)) - 1)] if ordered else None

        return {"samples": len(ordered), "p50": at(0.5), "p99": at(0.99), "max": at(1.0)}


class Connection(asyncio.Protocol):
    def __init__(self, floor: Floor) -> None:
        self.floor = floor
        self.transport: Any = None  # uvloop's TCPTransport (no asyncio.Transport subclass)
        self.buffer = b""
        self.websocket = False
        self.room: str | None = None
        self.user_id = str(uuid.uuid4())
        self.pinger: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.room is not None:
            self.floor.rooms.get(self.room, set()).discard(self)
        if self.pinger is not None:
            self.pinger.cancel()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if not self.websocket:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end].decode("latin-1"), self.buffer[end + 4 :]
            self.http(head)
        while self.websocket and self.read_frame():
            pass

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)

    # -- HTTP: health, lag probe, websocket upgrade ---------------------------------------
    def http(self, head: str) -> None:
        request, *lines = head.split("\r\n")
        path = request.split(" ")[1] if request.count(" ") >= 2 else "/"
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        if path.startswith("/socket.io/") and "sec-websocket-key" in headers:
            key = headers["sec-websocket-key"].encode()
            accept = base64.b64encode(hashlib.sha1(key + WS_GUID).digest()).decode()  # noqa: S324
            self.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept.encode() + b"\r\n\r\n"
            )
            self.websocket = True
            sid = uuid.uuid4().hex
            self.write(frame(f'0{{"sid":"{sid}",{OPEN[1:]}'.encode()))
            self.pinger = asyncio.get_running_loop().call_later(PING_SECONDS, self.ping)
            return
        if path == "/healthz":
            body = b'{"status":"ok"}'
        elif path.startswith("/_bench/lag/"):
            body = json.dumps(self.floor.lag_command(path)).encode()
        else:
            self.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            self.close()
            return
        self.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        )
        self.close()

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def ping(self) -> None:
        self.write(frame(b"2"))
        self.pinger = asyncio.get_running_loop().call_later(PING_SECONDS, self.ping)

    # -- WebSocket frames -----------------------------------------------------------------
    def read_frame(self) -> bool:
        buf = self.buffer
        if len(buf) < 2:
            return False
        opcode, n, at = buf[0] & 0x0F, buf[1] & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return False
            n, at = int.from_bytes(buf[2:4], "big"), 4
        elif n == 127:
            if len(buf) < 10:
                return False
            n, at = int.from_bytes(buf[2:10], "big"), 10
        masked = buf[1] & 0x80
        end = at + (4 if masked else 0) + n
        if len(buf) < end:
            return False
        payload = buf[end - n : end]
        if masked:
            payload = unmask(payload, buf[at : at + 4])
        self.buffer = buf[end:]
        if opcode in (0x1, 0x2):
            self.packet(payload)
        elif opcode == 0x8:
            self.write(frame(b"", 0x8))
            self.close()
        elif opcode == 0x9:
            self.write(frame(payload, 0xA))
        return True

    # -- Engine.IO / Socket.IO packets ----------------------------------------------------
    def packet(self, data: bytes) -> None:
        if data[:2] == b"42":
            self.event(data[2:])
        elif data[:2] == b"40":
            auth = json.loads(data[2:] or b"{}")
            self.room = str(auth.get("room", "bench"))
            self.floor.rooms.setdefault(self.room, set()).add(self)
            self.write(frame(b'40{"sid":"' + uuid.uuid4().hex.encode() + b'"}'))
        elif data[:1] == b"2":
            self.write(frame(b"3"))

    def event(self, data: bytes) -> None:
        bracket = data.find(b"[")
        ack_id, (name, body) = data[:bracket].decode(), json.loads(data[bracket:])
        if name != "message:send" or self.room is None:
            return
        room = self.room
        seq = self.floor.seq.get(room, 0) + 1
        self.floor.seq[room] = seq
        message = {
            "id": str(uuid.uuid4()),
            "room_id": body["room_id"],
            "seq": seq,
            "sender_id": self.user_id,
            "client_msg_id": body["client_msg_id"],
            "envelope": body["envelope"],
            "created_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        encoded = json.dumps(message, separators=(",", ":"))
        if ack_id:
            self.write(frame(f'43{ack_id}[{{"ok":true,"message":{encoded}}}]'.encode()))
        new = frame(f'42["message:new",{encoded}]'.encode())
        for other in self.floor.rooms[room]:
            if other is not self and other.transport is not None:
                other.transport.write(new)


async def serve(port: int) -> None:
    floor = Floor()
    server = await asyncio.get_running_loop().create_server(
        lambda: Connection(floor), "127.0.0.1", port, backlog=4096
    )
    async with server:
        await server.serve_forever()


def main() -> None:
    uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
