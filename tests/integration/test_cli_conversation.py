"""`sealchat reply|edit|react|delete|read|unread`, and the folded `sealchat history`."""

from __future__ import annotations

from tests.integration.conftest import ClientFactory
from tests.integration.test_chat_cli import sealchat
from tests.live_server import LiveServer


async def test_reply_edit_react_delete_and_the_folded_history(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client(connect=True)
    room = await alice.create_room("cli-conversation")
    await bob.join(room["id"])
    alice_name, bob_name = alice.user["username"], bob.user["username"]  # type: ignore[index]
    await alice.send_text(room["id"], "lunch at noon?")  # #1
    await alice.send_text(room["id"], "typo here")  # #2

    async def run(user: str, *args: str) -> str:
        code, out, err = await sealchat(server, user, *args, "--room", "cli-conversation")
        assert code == 0, err
        return out

    assert "sent #3" in await run(bob_name, "reply", "#1", "yes, see you")
    assert "sent #4" in await run(alice_name, "edit", "2", "no typo here")
    await run(bob_name, "react", "1", "👍")
    await run(alice_name, "react", "#1", "👍")
    await run(alice_name, "react", "#1", "🎉")
    await run(alice_name, "delete", "#7")  # takes the 🎉 back
    await run(bob_name, "reply", "#2", "ok")  # #9

    lines = (await run(bob_name, "history")).strip().splitlines()
    assert lines[0].endswith(f"{alice_name}: lunch at noon?   [👍 2]")
    assert lines[0].startswith("#1 ")
    assert lines[1].endswith(f"{alice_name}: no typo here (edited)")
    assert lines[2] == f"  > #1 {alice_name}: lunch at noon?"
    assert lines[3].endswith(f"{bob_name}: yes, see you")
    assert lines[4] == f"  > #2 {alice_name}: no typo here"
    assert len(lines) == 6

    await run(alice_name, "delete", "#2")
    lines = (await run(bob_name, "history")).strip().splitlines()
    assert lines[1].endswith(f"{alice_name}: (message deleted)")
    assert lines[4] == f"  > #2 {alice_name}: (message deleted)"

    # Refusals are clear messages, not tracebacks.
    code, _, err = await sealchat(
        server, bob_name, "edit", "#1", "not mine", "--room", "cli-conversation"
    )
    assert code == 1 and "forbidden" in err and "Traceback" not in err
    code, _, err = await sealchat(server, bob_name, "delete", "#99", "--room", "cli-conversation")
    assert code == 1 and "not_found" in err


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
