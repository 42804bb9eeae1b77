"""`sealchat chat` shows the other rooms' messages too, each with its room's name."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.integration.conftest import PASSWORD, ClientFactory
from tests.live_server import LiveServer


async def test_chat_shows_other_rooms_messages_with_the_room_name(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    alice_name, bob_name = alice.user["username"], bob.user["username"]  # type: ignore[index]
    front = await alice.create_room("front")
    back = await alice.create_room("back room")
    await bob.join(front["id"])
    await bob.join(back["id"])
    env = {
        **os.environ,
        "SEALCHAT_URL": server.url,
        "SEALCHAT_USERNAME": bob_name,
        "SEALCHAT_PASSWORD": PASSWORD,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sealchat",
        "chat",
        "--room",
        front["id"],
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    banner = await asyncio.wait_for(process.stdout.readline(), 30)
    assert b"sealed" in banner
    await alice.send_text(back["id"], "psst, over here")
    other = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().rstrip()
    assert other.startswith("#back room [")
    assert other.endswith(f"{alice_name}: psst, over here")
    await alice.send_text(front["id"], "and here")
    here = (await asyncio.wait_for(process.stdout.readline(), 30)).decode().rstrip()
    assert here.startswith("#1 [") and here.endswith(f"{alice_name}: and here")
    process.stdin.write(b"/quit\n")
    await process.stdin.drain()
    assert await asyncio.wait_for(process.wait(), 30) == 0
