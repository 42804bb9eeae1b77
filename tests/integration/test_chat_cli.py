"""`sealchat send`, `sealchat history` and `sealchat chat`, run unattended from the environment."""

from __future__ import annotations

import asyncio
import os
import sys

from tests.integration.conftest import PASSWORD, ClientFactory
from tests.live_server import LiveServer


async def sealchat(
    server: LiveServer, username: str, *args: str, stdin: bytes = b"", timeout: float = 60
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "SEALCHAT_URL": server.url,
        "SEALCHAT_USERNAME": username,
        "SEALCHAT_PASSWORD": PASSWORD,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sealchat",
        *args,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    return process.returncode or 0, out.decode(), err.decode()


async def test_send_and_history_from_the_command_line(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("cli-room")
    alice_name, bob_name = alice.user["username"], bob.user["username"]  # type: ignore[index]

    code, out, err = await sealchat(
        server, bob_name, "send", "--room", "CLI-room", "hello from a script"
    )
    assert code == 0, err
    assert "sent #1" in out
    opened = await alice.next_opened()
    assert opened.text == "hello from a script"

    await alice.send_text(room["id"], "and a reply")
    code, out, err = await sealchat(server, bob_name, "history", "--room", "cli-room")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].endswith(f"{bob_name}: hello from a script")
    assert lines[1].endswith(f"{alice_name}: and a reply")

    code, out, err = await sealchat(server, bob_name, "history", "--room", "no-such-room")
    assert code == 1 and "no room named" in err and "Traceback" not in err


async def test_interactive_chat_sends_lines_and_shows_incoming(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    bob_name = bob.user["username"]  # type: ignore[index]
    room = await alice.create_room("cli-chat")
    await bob.join(room["id"])

    async def alice_speaks_once_bob_talks() -> None:
        opened = await alice.next_opened(timeout=30)
        assert opened.text == "hi from the terminal"
        await alice.send_text(room["id"], "hi terminal, this is alice")

    alice_side = asyncio.ensure_future(alice_speaks_once_bob_talks())
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
        "cli-chat",
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    banner = await asyncio.wait_for(process.stdout.readline(), 30)
    assert b"sealed" in banner
    process.stdin.write(b"hi from the terminal\n")
    await process.stdin.drain()
    shown = await asyncio.wait_for(process.stdout.readline(), 30)
    assert shown.decode().rstrip().endswith("hi terminal, this is alice")
    process.stdin.write(b"/quit\n")
    await process.stdin.drain()
    assert await asyncio.wait_for(process.wait(), 30) == 0
    await alice_side
