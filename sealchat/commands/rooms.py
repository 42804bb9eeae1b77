"""Rooms from the command line: ``rooms``, ``room create|join|leave|invite|remove``,
``members``, ``directory``. Listings take ``--json`` for scripts.

A room is named as everywhere in the CLI (``sealchat.client.rooms``): its id, its exact
name, or its name in any letter case; a name that fits more than one room is refused with
each candidate described.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from sealchat.client import ClientError, SealchatClient
from sealchat.client import rooms as room_names
from sealchat.client.terminal import terminal_safe
from sealchat.commands.account import (
    Account,
    JsonOption,
    PasswordOption,
    ProfileOption,
    UrlOption,
    UserOption,
    echo_json,
    run,
    signed_in,
)

room_app = typer.Typer(help="Create, join, leave rooms; invite and remove people.")
RoomArgument = Annotated[str, typer.Argument(help="A room id or name (@username: direct room).")]
UserArgument = Annotated[str, typer.Argument(help="A username.")]


def register(app: typer.Typer) -> None:
    app.add_typer(room_app, name="room")
    app.command("rooms")(rooms)
    app.command("members")(members)
    app.command("directory")(directory)


def rooms(
    as_json: JsonOption = False,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """My rooms: name, id, owner and members, and unread messages where the server counts
    them."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            mine = sorted(
                await client.rooms(), key=lambda r: (r["name"].casefold(), r["name"], r["id"])
            )
            if as_json:
                echo_json(mine)
                return
            for room in mine:
                unread = room.get("unread")
                suffix = f" ({unread} unread)" if isinstance(unread, int) and unread else ""
                typer.echo(await client.describe_room(room) + suffix)

    run(work)


def members(
    room: RoomArgument,
    as_json: JsonOption = False,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Who is in a room: username, role, online or not."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            target = await my_room(client, room)
            people = await client.members(target["id"])
            if as_json:
                echo_json(people)
                return
            for member in people:
                state = "online" if member.get("online") else "offline"
                typer.echo(
                    terminal_safe(f"{member['user']['username']} ({member['role']}, {state})")
                )

    run(work)


def directory(
    as_json: JsonOption = False,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Public rooms anyone can join (`sealchat room join NAME`)."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            public = await client.directory()
            if as_json:
                echo_json(public)
                return
            mine = {room["id"] for room in await client.rooms()}
            for room in public:
                joined = " (joined)" if room["id"] in mine else ""
                typer.echo(room_names.describe_room(room) + joined)

    run(work)


@room_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="The new room's name.")],
    private: Annotated[
        bool, typer.Option("--private", help="Invitation only, not in the directory.")
    ] = False,
    allow_duplicate: Annotated[
        bool,
        typer.Option(help="Create it even if a room of that name exists (then name it by id)."),
    ] = False,
    as_json: JsonOption = False,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Create a room; you become its owner. A name one of your rooms or a public room
    already has is refused (it would make the name ambiguous) unless --allow-duplicate."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            if not allow_duplicate:
                await refuse_duplicate(client, name)
            made = await client.create_room(name, "private" if private else "public")
            if as_json:
                echo_json(made)
                return
            typer.echo(f"created {await client.describe_room(made)}")

    run(work)


@room_app.command("join")
def join(
    room: RoomArgument,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Join a public room, or accept an invitation to a room (by name or id)."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            invited = room_names.match_rooms([i["room"] for i in await client.invitations()], room)
            if len(invited) == 1:
                joined = await client.accept_invitation(invited[0]["id"])
            else:
                if room_names.match_rooms(await client.rooms(), room):
                    raise ClientError("conflict", f"you are already in {room!r}")
                found = one_room(room_names.match_rooms(await client.directory(), room), room)
                joined = await client.join(found["id"])
            typer.echo(f"joined {await client.describe_room(joined)}")

    run(work)


@room_app.command("leave")
def leave(
    room: RoomArgument,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Leave one of your rooms (an owner's place passes to another member)."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            target = await my_room(client, room)
            await client.leave(target["id"])
            typer.echo(terminal_safe(f"left {target['name']} [{target['id']}]"))

    run(work)


@room_app.command("invite")
def invite(
    room: RoomArgument,
    user: UserArgument,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Invite someone to a room you own; they join by accepting (`sealchat room join`)."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            target = await my_room(client, room)
            result = await client.invite(target["id"], user)
            where = f"{target['name']} [{target['id']}]"
            said = {
                "invited": f"invited {user} to {where}; they join by accepting",
                "already_invited": f"{user} is already invited to {where}",
                "already_member": f"{user} is already a member of {where}",
            }
            typer.echo(terminal_safe(said.get(result["status"], result["status"])))

    run(work)


@room_app.command("remove")
def remove(
    room: RoomArgument,
    user: UserArgument,
    profile: ProfileOption = "default",
    url: UrlOption = None,
    username: UserOption = None,
    password: PasswordOption = None,
) -> None:
    """Remove a member from a room you own: they read nothing sealed from now on."""

    async def work() -> None:
        async with signed_in(Account(profile, url, username, password)) as client:
            target = await my_room(client, room)
            wanted = user.strip().lower()
            found = [
                m for m in await client.members(target["id"]) if m["user"]["username"] == wanted
            ]
            if not found:
                raise ClientError("not_found", f"{user!r} is not a member of {target['name']!r}")
            await client.remove_member(target["id"], found[0]["user"]["id"])
            typer.echo(terminal_safe(f"removed {wanted} from {target['name']} [{target['id']}]"))

    run(work)


async def my_room(client: SealchatClient, wanted: str) -> dict[str, Any]:
    """One of my rooms (never a public room joined on the way)."""
    if wanted.startswith("@"):
        return await client.open_dm(wanted[1:])
    return one_room(room_names.match_rooms(await client.rooms(), wanted), wanted)


def one_room(found: list[dict[str, Any]], wanted: str) -> dict[str, Any]:
    if not found:
        raise room_names.not_found(wanted)
    if len(found) > 1:
        raise room_names.ambiguous(
            wanted, [terminal_safe(f"{r['name']} [{r['id']}]") for r in found]
        )
    return found[0]


async def refuse_duplicate(client: SealchatClient, name: str) -> None:
    clash = room_names.match_rooms(await client.rooms(), name) or room_names.match_rooms(
        await client.directory(), name
    )
    if clash:
        described = await client.describe_room(clash[0])
        raise ClientError(
            "conflict",
            f"a room named {name!r} exists already: {described}; pick another name, "
            "or --allow-duplicate (then name it by its id)",
        )
