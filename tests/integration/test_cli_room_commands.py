"""Rooms from the command line, signed in once: create, invite, join, members, directory,
remove, leave; each refusal said plainly; `--json` for scripts; `chat` opens with the
room's last messages."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.integration.cli_support import Terminal
from tests.integration.conftest import PASSWORD, ClientFactory, unique_name
from tests.live_server import LiveServer


async def signed_in_terminals(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path, *people: str
) -> dict[str, tuple[Terminal, str]]:
    """One terminal per person (own config dir), each signed in once."""
    made = {}
    for person in people:
        client = await new_client(unique_name(person))
        name = client.user["username"]  # type: ignore[index]
        terminal = Terminal(tmp_path / person)
        done = await terminal.run("login", "--url", server.url, name, SEALCHAT_PASSWORD=PASSWORD)
        assert done.code == 0, done.err
        made[person] = (terminal, name)
    return made


# Each test runs the `sealchat` command many times (a new interpreter each): on a busy
# machine that is slower than the default timeout.
pytestmark = pytest.mark.timeout(600)


async def test_room_commands_and_their_refusals(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    people = await signed_in_terminals(server, new_client, tmp_path, "alice", "bob")
    (alice, alice_name), (bob, bob_name) = people["alice"], people["bob"]
    team = unique_name("team")

    made = await alice.run("room", "create", team, "--private", "--json")
    assert made.code == 0, made.err
    room = json.loads(made.out)
    assert room["name"] == team and room["visibility"] == "private" and room["role"] == "owner"

    # A second room of that name would make the name ambiguous: refused unless asked for.
    again = await alice.run("room", "create", team.upper())
    assert again.code == 1 and "conflict" in again.err and "exists already" in again.err
    assert "Traceback" not in again.err

    unknown = await alice.run("room", "invite", team, "nobody-" + team)
    assert unknown.code == 1 and "no such user" in unknown.err

    invited = await alice.run("room", "invite", team, bob_name)
    assert invited.code == 0, invited.err
    assert f"invited {bob_name} to {team} [{room['id']}]; they join by accepting" in invited.out
    pending = await bob.run("invitations", "--json")
    assert pending.code == 0, pending.err
    [invitation] = json.loads(pending.out)
    assert invitation["room"]["id"] == room["id"]
    assert invitation["inviter"]["username"] == alice_name
    # Invited is not a member: bob cannot act on the room yet.
    early = await bob.run("members", team)
    assert early.code == 1 and "no room named" in early.err

    joined = await bob.run("room", "join", team)
    assert joined.code == 0, joined.err
    assert joined.out.startswith(f"joined {team} [{room['id']}] private room, owner: {alice_name}")

    # Only an owner invites and removes.
    not_owner = await bob.run("room", "invite", team, alice_name)
    assert not_owner.code == 1 and "only an owner of the room can do that" in not_owner.err
    not_owner = await bob.run("room", "remove", team, alice_name)
    assert not_owner.code == 1 and "only an owner of the room can do that" in not_owner.err

    members = await alice.run("members", team, "--json")
    assert members.code == 0, members.err
    roles = {m["user"]["username"]: m["role"] for m in json.loads(members.out)}
    assert roles == {alice_name: "owner", bob_name: "member"}
    listing = await alice.run("members", team)
    assert f"{alice_name} (owner, " in listing.out and f"{bob_name} (member, " in listing.out

    # A public room: in the directory, joined by name, left again.
    lobby = unique_name("lobby")
    assert (await alice.run("room", "create", lobby)).code == 0
    directory = await bob.run("directory", "--json")
    assert directory.code == 0, directory.err
    public = {r["name"]: r for r in json.loads(directory.out)}
    assert public[lobby]["owner"]["username"] == alice_name and team not in public
    assert (await bob.run("room", "join", lobby)).code == 0
    twice = await bob.run("room", "join", lobby)
    assert twice.code == 1 and "already in" in twice.err
    shown = await bob.run("directory")
    assert any(
        line.startswith(lobby) and line.endswith("(joined)") for line in shown.out.splitlines()
    )
    left = await bob.run("room", "leave", lobby)
    assert left.code == 0 and left.out.startswith(f"left {lobby} [")

    absent = await alice.run("room", "remove", team, "nobody-" + team)
    assert absent.code == 1 and "is not a member" in absent.err
    removed = await alice.run("room", "remove", team, bob_name)
    assert removed.code == 0, removed.err
    mine = json.loads((await bob.run("rooms", "--json")).out)
    assert team not in [r["name"] for r in mine]
    gone = await bob.run("room", "leave", team)
    assert gone.code == 1 and "no room named" in gone.err and "Traceback" not in gone.err


async def test_rooms_lists_mine_with_owner_and_members(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    people = await signed_in_terminals(server, new_client, tmp_path, "carol")
    carol, carol_name = people["carol"]
    for name in ("beta", "Alpha"):
        assert (await carol.run("room", "create", f"{name}-{carol_name}")).code == 0
    listed = await carol.run("rooms")
    assert listed.code == 0, listed.err
    lines = listed.out.strip().splitlines()
    assert [line.split(" [")[0] for line in lines] == [f"Alpha-{carol_name}", f"beta-{carol_name}"]
    assert all(f"owner: {carol_name}; members (1): {carol_name}" in line for line in lines)


async def test_chat_opens_with_the_last_messages(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice = await new_client(connect=True)
    people = await signed_in_terminals(server, new_client, tmp_path, "bob")
    bob, bob_name = people["bob"]
    room = await alice.create_room(unique_name("standup"))
    for text in ("one", "two", "three"):
        await alice.send_text(room["id"], text)
    assert (await bob.run("room", "join", room["id"])).code == 0

    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sealchat",
        "chat",
        "--room",
        room["id"],
        "--last",
        "2",
        env=bob.env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    banner = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert "messages are sealed in this client" in banner
    assert "Trust: key service in the same process as the server" in banner
    assert "end to end" not in banner
    recent = [(await asyncio.wait_for(process.stdout.readline(), 30)).decode() for _ in range(2)]
    assert [line.rstrip().rsplit(": ", 1)[1] for line in recent] == ["two", "three"]
    await alice.send_text(room["id"], "four")
    live = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert live.rstrip().endswith(": four")
    process.stdin.write(b"/quit\n")
    await process.stdin.drain()
    assert await asyncio.wait_for(process.wait(), 30) == 0
    assert bob_name
