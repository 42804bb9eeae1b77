"""500 forced disconnects in the middle of traffic: the client resumes from its cursors
every time and ends up with every message exactly once, in order."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from sealchat.client import SealchatClient
from tests.envelopes import opaque_envelope
from tests.integration.conftest import PASSWORD, unique_name
from tests.integration.raw_socket import RawSocket
from tests.live_server import start_server

READERS = 5
DROPS_EACH = 100  # 500 forced disconnects in all


async def drop_and_resume(reader: SealchatClient, times: int) -> None:
    for _ in range(times):
        live = reader.realtime._sio
        assert live is not None
        await live.eio.disconnect(abort=True)  # the transport drops, no goodbye
        await reader.realtime.disconnect()  # and its own reconnection with it
        await reader.connect()  # resume: sync from the cursors, then live


async def read_all(reader: SealchatClient, into: list[int]) -> None:
    while True:
        into.append((await reader.next_message(timeout=30))["seq"])


async def test_500_forced_disconnects_lose_and_repeat_nothing(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    readers = [SealchatClient(server.url) for _ in range(READERS)]
    try:
        async with SealchatClient(server.url) as writer:
            await writer.register(unique_name(), PASSWORD)
            room = await writer.create_room("turbulent")
            for reader in readers:
                await reader.register(unique_name(), PASSWORD)
                await reader.join(room["id"])
                await reader.connect()
            sock = RawSocket()
            assert writer.api.access_token
            await sock.connect(server.url, writer.api.access_token)
            dropping = True
            sent: list[int] = []

            async def write() -> None:
                while dropping:
                    ack: dict[str, Any] = await sock.call(
                        "message:send",
                        {
                            "room_id": room["id"],
                            "client_msg_id": uuid.uuid4().hex,
                            "envelope": opaque_envelope("x"),
                        },
                    )
                    assert ack["ok"], ack
                    sent.append(ack["message"]["seq"])
                    await asyncio.sleep(0.005)

            received: list[list[int]] = [[] for _ in readers]
            writing = asyncio.create_task(write())
            reading = [
                asyncio.create_task(read_all(r, got))
                for r, got in zip(readers, received, strict=True)
            ]
            await asyncio.gather(*(drop_and_resume(r, DROPS_EACH) for r in readers))
            dropping = False
            await writing
            while any(len(got) < len(sent) for got in received):
                await asyncio.sleep(0.05)
                assert not any(task.done() for task in reading), reading
            await asyncio.sleep(0.3)  # anything extra would arrive now
            for task in reading:
                task.cancel()
            await sock.close()
    finally:
        for reader in readers:
            await reader.close()
        server.stop()
    assert len(sent) > DROPS_EACH  # traffic went on throughout
    for got in received:
        assert got == list(range(1, len(sent) + 1))
