"""The request-head deadline, on a real uvicorn server over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import uvicorn
from websockets.asyncio.client import connect

from sealchat.adapters import slow_clients
from sealchat.adapters.slow_clients import HeaderDeadlineProtocol, set_header_timeout

DEADLINE = 0.5
CLOSED_WITHIN = 10.0  # a generous bound: only "closed at all" matters, not when


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers ``/slow`` after twice the deadline, echoes websocket text, else 200 "ok"."""
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while (event := await receive())["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": event["text"]})
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(DEADLINE * 2)
    headers = [(b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    set_header_timeout(DEADLINE)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        http=slow_clients.HTTP_PROTOCOL,
        ws="websockets-sansio",
        lifespan="off",
        log_config=None,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield int(server.servers[0].sockets[0].getsockname()[1])
    server.should_exit = True
    await serving
    set_header_timeout(20.0)


@asynccontextmanager
async def connection(port: int) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server closes the connection (whatever it sent before)."""
    try:
        async with asyncio.timeout(CLOSED_WITHIN):
            while await reader.read(4096):
                pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


def test_uvicorn_uses_the_protocol_by_its_import_path() -> None:
    config = uvicorn.Config(app, http=slow_clients.HTTP_PROTOCOL)
    config.load()
    assert config.http_protocol_class is HeaderDeadlineProtocol


async def test_a_silent_connection_is_closed(port: int) -> None:
    async with connection(port) as (reader, _writer):
        assert await closed_by_server(reader)


async def test_a_trickling_head_is_closed_at_the_deadline(port: int) -> None:
    async with connection(port) as (reader, writer):
        head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
        closed = asyncio.create_task(closed_by_server(reader))
        for byte in head:  # each byte well within the deadline, the whole far beyond it
            if closed.done():
                break
            writer.write(bytes([byte]))
            await asyncio.sleep(DEADLINE / 10)
        assert await closed


async def test_a_prompt_request_is_answered_and_its_slow_answer_not_cut(port: int) -> None:
    async with connection(port) as (reader, writer):
        writer.write(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = await asyncio.wait_for(reader.readuntil(b"ok"), CLOSED_WITHIN)
        assert answer.startswith(b"HTTP/1.1 200")
        # Kept alive: the next request has a deadline of its own, met again.
        await asyncio.sleep(DEADLINE * 0.6)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        again = await asyncio.wait_for(reader.readuntil(b"ok"), CLOSED_WITHIN)
        assert again.startswith(b"HTTP/1.1 200")


async def test_the_next_head_on_a_kept_alive_connection_has_a_deadline(port: int) -> None:
    async with connection(port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(reader.readuntil(b"ok"), CLOSED_WITHIN)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert await closed_by_server(reader)


async def test_a_websocket_outlives_the_deadline(port: int) -> None:
    async with connect(f"ws://127.0.0.1:{port}/ws") as ws:
        await asyncio.sleep(DEADLINE * 3)
        await ws.send("still here")
        assert await asyncio.wait_for(ws.recv(), CLOSED_WITHIN) == "still here"


async def test_no_deadline_when_set_to_zero(port: int) -> None:
    set_header_timeout(0)
    async with connection(port) as (reader, writer):
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n")
        await asyncio.sleep(DEADLINE * 3)
        writer.write(b"\r\n")
        answer = await asyncio.wait_for(reader.readuntil(b"ok"), CLOSED_WITHIN)
        assert answer.startswith(b"HTTP/1.1 200")
