"""`sealchat reply|edit|react|delete|read|unread`, and the folded `sealchat history`."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import ClientFactory
from tests.integration.test_chat_cli import sealchat
from tests.live_server import LiveServer


async def conversation(
    new_client: ClientFactory, name: str
) -> tuple[str, str, list[dict[str, Any]]]:
    """Alice's room ``name`` with Bob: #1 and #2 by Alice, then replies, an edit, reactions
    (public names are unique: one name per test)."""
    alice, bob = await new_client(connect=True), await new_client(connect=True)
    room = await alice.create_room(name)
    await bob.join(room["id"])
    one = await alice.send_text(room["id"], "lunch at noon?")
    two = await alice.send_text(room["id"], "typo here")
    bob_room, alice_room = bob.room(room["id"]), alice.room(room["id"])
    sent = [one, two, await bob_room.reply(one["id"], "yes, see you")]
    sent.append(await alice_room.edit(two["id"], "no typo here"))
    sent.append(await bob_room.react(one["id"], "👍"))
    sent.append(await alice_room.react(one["id"], "👍"))
    sent.append(await alice_room.react(one["id"], "🎉"))
    await alice_room.delete(sent[-1]["id"])  # #8 takes the 🎉 back
    sent.append(await bob_room.reply(two["id"], "ok"))  # #9
    return alice.user["username"], bob.user["username"], sent  # type: ignore[index]


async def test_the_folded_history(server: LiveServer, new_client: ClientFactory) -> None:
    alice_name, bob_name, _ = await conversation(new_client, "cli-folded")
    code, out, err = await sealchat(server, bob_name, "history", "--room", "cli-folded")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("#1 ")
    assert lines[0].endswith(f"{alice_name}: lunch at noon?   [👍 2]")
    assert lines[1].endswith(f"{alice_name}: no typo here (edited)")
    assert lines[2] == f"  > #1 {alice_name}: lunch at noon?"
    assert lines[3].endswith(f"{bob_name}: yes, see you")
    assert lines[4] == f"  > #2 {alice_name}: no typo here"
    assert len(lines) == 6


async def test_reply_edit_react_delete_from_the_command_line(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice_name, bob_name, sent = await conversation(new_client, "cli-conversation")

    async def run(user: str, *args: str) -> str:
        code, out, err = await sealchat(server, user, *args, "--room", "cli-conversation")
        assert code == 0, err
        return out

    assert "sent #10" in await run(bob_name, "reply", "#1", "me too")
    assert "sent #11" in await run(alice_name, "edit", "2", "typo fixed")
    assert "sent #12" in await run(bob_name, "react", sent[1]["id"], "👀")
    assert "sent #13" in await run(alice_name, "delete", "#2")
    code, _, err = await sealchat(
        server, bob_name, "edit", "#1", "not mine", "--room", "cli-conversation"
    )
    assert code == 1 and "forbidden" in err and "Traceback" not in err
    lines = (await run(bob_name, "history")).strip().splitlines()
    assert lines[1].endswith(f"{alice_name}: (message deleted)")
    assert lines[4] == f"  > #2 {alice_name}: (message deleted)"
    assert lines[-1].endswith(f"{bob_name}: me too")


async def test_read_and_unread(server: LiveServer, new_client: ClientFactory) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("cli-unread")
    await bob.join(room["id"])
    bob_name = bob.user["username"]  # type: ignore[index]
    for i in range(3):
        await alice.send_text(room["id"], f"news {i}")

    code, out, err = await sealchat(server, bob_name, "unread")
    assert code == 0, err
    assert out.split() == ["3", "cli-unread"]
    code, out, err = await sealchat(server, bob_name, "read", "--room", "cli-unread", "--upto", "1")
    assert code == 0, err
    assert "read up to #1; 2 unread" in out
    code, out, err = await sealchat(server, bob_name, "read", "--room", "cli-unread")
    assert "read up to #3; 0 unread" in out
    code, out, err = await sealchat(server, bob_name, "unread")
    assert code == 0 and out.strip() == ""
