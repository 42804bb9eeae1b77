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
    assert b"sealed" in banner and f"owner: {alice.user['username']}".encode() in banner  # type: ignore[index]
    process.stdin.write(b"hi from the terminal\n")
    await process.stdin.drain()
    shown = await asyncio.wait_for(process.stdout.readline(), 30)
    assert shown.decode().rstrip().endswith("hi terminal, this is alice")
    # Someone new can read along from now on: the terminal says so.
    carol = await new_client()
    await carol.join(room["id"])
    joined = await asyncio.wait_for(process.stdout.readline(), 30)
    assert joined.decode().rstrip() == f"* {carol.user['username']} joined the room"  # type: ignore[index]
    process.stdin.write(b"/quit\n")
    await process.stdin.drain()
    assert await asyncio.wait_for(process.wait(), 30) == 0
    await alice_side


async def test_a_look_alike_room_never_gets_the_message(
    server: LiveServer, new_client: ClientFactory
) -> None:
    # Issue #16: eve made a private "OPS", put bob in it, and bob's `--room ops` went there.
    eve, bob = await new_client(connect=True), await new_client()
    eve_name, bob_name = eve.user["username"], bob.user["username"]  # type: ignore[index]
    ops = await eve.create_room("OPS", visibility="private")
    await eve.invite(ops["id"], bob_name)

    # Invited is not a member: nothing named "ops" is bob's to send to.
    code, out, err = await sealchat(server, bob_name, "send", "--room", "ops", "deploy key 1")
    assert code == 1 and "no room named" in err, (out, err)
    code, out, err = await sealchat(server, bob_name, "invitations")
    assert code == 0, err
    assert f"OPS [{ops['id']}] private room, owner: {eve_name}; 1 members" in out
    assert f"invited by {eve_name}" in out
    code, out, err = await sealchat(server, bob_name, "accept", ops["id"])
    assert code == 0 and f"joined OPS [{ops['id']}]" in out, err

    # bob's own room "ops": the exact name wins over eve's "OPS", and the line says whose.
    mine = await bob.create_room("ops", visibility="private")
    code, out, err = await sealchat(server, bob_name, "send", "--room", "ops", "deploy key 2")
    assert code == 0, err
    assert f"sent #1 to ops [{mine['id']}] private room, owner: {bob_name}; members (1)" in out
    assert (await bob.history(mine["id"]))[0]["seq"] == 1
    assert await eve.history(ops["id"]) == []

    # A name that fits both only by ignoring case is refused, with both rooms described.
    code, out, err = await sealchat(server, bob_name, "send", "--room", "Ops", "deploy key 3")
    assert code == 1 and "ambiguous_room" in err and "Traceback" not in err
    assert f"OPS [{ops['id']}] private room, owner: {eve_name}; members (2)" in err
    assert f"ops [{mine['id']}] private room, owner: {bob_name}; members (1)" in err
    assert await eve.history(ops["id"]) == []

    # The id names one room for sure; the line shows who is in it.
    code, out, err = await sealchat(server, bob_name, "send", "--room", ops["id"], "hi eve")
    assert code == 0, err
    assert f"to OPS [{ops['id']}]" in out and f"owner: {eve_name}" in out
    assert f"members (2): {eve_name}, {bob_name}" in out

    code, out, err = await sealchat(server, bob_name, "rooms")
    assert code == 0, err
    assert [line.split(" [")[0] for line in out.strip().splitlines()] == ["OPS", "ops"]


async def test_terminal_control_codes_in_messages_are_shown_escaped(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    alice_name, bob_name = alice.user["username"], bob.user["username"]  # type: ignore[index]
    room = await alice.create_room("escapes")
    await bob.join(room["id"])
    hostile = (
        "\x1b]0;pwned\x07"  # set the window title
        "\x1b[1A\x1b[2K\r"  # up one line, erase it, back to column 0
        f"[2026-01-01 00:00] {bob_name}: I agree\n"  # a forged line from bob
        "\u202etxt.exe\x9b31m\x7f"
    )
    await alice.send_text(room["id"], hostile)

    code, out, err = await sealchat(server, bob_name, "history", "--room", "escapes")

    assert code == 0, err
    for raw in ("\x1b", "\x07", "\r", "\u202e", "\x9b", "\x7f"):
        assert raw not in out
    first, second = out.rstrip("\n").split("\n")
    escaped = "\\x1b]0;pwned\\x07\\x1b[1A\\x1b[2K\\x0d"
    assert first.endswith(f"{alice_name}: {escaped}[2026-01-01 00:00] {bob_name}: I agree")
    assert second == "  | \\u202etxt.exe\\x9b31m\\x7f"
