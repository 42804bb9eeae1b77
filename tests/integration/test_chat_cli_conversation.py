"""`sealchat chat`: /reply, /edit, /react, /unreact, /delete, /read and /help, and the
other side's edits, reactions, replies and deletions shown as readable lines."""

from __future__ import annotations

import asyncio
import os
import sys

from sealchat.client import SealchatClient
from sealchat.client.sealed import OpenedMessage
from tests.integration.conftest import PASSWORD, ClientFactory
from tests.live_server import LiveServer


async def opened_at(client: SealchatClient, seq: int) -> OpenedMessage:
    """The message ``seq`` as ``client`` receives it (earlier ones skipped)."""
    opened = await client.next_opened(timeout=30)
    while opened.message["seq"] < seq:
        opened = await client.next_opened(timeout=30)
    assert opened.message["seq"] == seq
    return opened


async def test_conversation_commands_and_incoming_relations(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    alice_name, bob_name = alice.user["username"], bob.user["username"]  # type: ignore[index]
    room = await alice.create_room("cli-conversation")
    await bob.join(room["id"])
    first = await alice.send_text(room["id"], "first")
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
        room["id"],
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    async def line() -> str:
        return (await asyncio.wait_for(stdout.readline(), 30)).decode().rstrip("\n")

    async def typed(text: str) -> str:
        stdin.write(text.encode() + b"\n")
        await stdin.drain()
        return await line()

    try:
        assert "/help for commands" in await line()
        recent = await line()
        assert recent.startswith("#1 [") and recent.endswith(f"{alice_name}: first")

        help_lines = [await typed("/help")] + [await line() for _ in range(6)]
        assert any(h.startswith("* /unreact #SEQ emoji") for h in help_lines)
        assert help_lines[-1].startswith("* /quit")

        # bob's commands reach alice as relations of the right messages.
        assert await typed("/reply #1 an answer") == "* sent #2"
        reply = (await opened_at(alice, 2)).parsed
        assert reply is not None and reply.relates_to is not None  # type: ignore[union-attr]
        assert reply.relates_to.type == "reply"  # type: ignore[union-attr]
        assert reply.relates_to.message_id == first["id"]  # type: ignore[union-attr]
        assert await typed("/react #1 👍") == "* sent #3"
        await opened_at(alice, 3)
        assert alice.room(room["id"]).timeline().item(first["id"]).reactions == {  # type: ignore[union-attr]
            "👍": [bob.user["id"]]  # type: ignore[index]
        }
        assert await typed("/unreact #1 👍") == "* sent #4"
        await opened_at(alice, 4)
        assert alice.room(room["id"]).timeline().item(first["id"]).reactions == {}  # type: ignore[union-attr]
        assert await typed("/edit #2 an answer, edited") == "* sent #5"
        await opened_at(alice, 5)
        answer = alice.room(room["id"]).timeline().items()[1]
        assert (answer.text, answer.edited) == ("an answer, edited", True)

        # alice's edit, reaction, reply and deletion, as bob's terminal shows them.
        handle = alice.room(room["id"])
        await handle.edit(first["id"], "first, edited")
        assert (await line()).endswith(f"{alice_name} edited #1: first, edited")
        await handle.react(answer.id, "🎉")
        assert (await line()).endswith(f"{alice_name} reacted 🎉 to #2")
        thanks = await handle.reply(answer.id, "thanks")
        assert await line() == f"  > #2 {bob_name}: an answer, edited"
        shown = await line()
        assert shown.startswith("#8 [") and shown.endswith(f"{alice_name}: thanks")
        await handle.delete(thanks["id"])
        assert await line() == f"* #8 deleted by {alice_name}"

        # /read moves bob's read marker: every device of his sees it.
        assert await typed("/read") == "* read up to #9; 0 unread"
        mine = next(r for r in await bob.rooms() if r["id"] == room["id"])
        assert (mine["last_read_seq"], mine["unread"]) == (9, 0)

        # Mistakes are answered, and the session goes on.
        assert await typed("/edit #99 nothing") == "! not_found: no message #99 in this room"
        assert await typed("/unreact #1 👍") == "! you have no 👍 reaction on #1"
        assert await typed("/react #1") == "! usage: /react #SEQ emoji"
        assert await typed("/shrug") == "! unknown command /shrug; /help lists them"
        stdin.write(b"//shrug\n")
        await stdin.drain()
        assert (await opened_at(alice, 10)).text == "/shrug"
        stdin.write(b"/quit\n")
        await stdin.drain()
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
