"""Chat from the command line: ``sealchat send``, ``sealchat history``, ``sealchat chat``.

Server URL and credentials come from flags or ``SEALCHAT_URL``, ``SEALCHAT_USERNAME``,
``SEALCHAT_PASSWORD``, so scripts and bots run unattended. Messages are sealed and opened
here, in the client; the server only relays envelopes.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import typer

from sealchat.client import ClientError, SealchatClient
from sealchat.client.terminal import render_message, terminal_safe

T = TypeVar("T")

UrlOption = Annotated[
    str, typer.Option("--url", envvar="SEALCHAT_URL", help="The Sealchat server.")
]
UserOption = Annotated[
    str, typer.Option("--username", "-u", envvar="SEALCHAT_USERNAME", help="Your username.")
]
PasswordOption = Annotated[
    str,
    typer.Option(
        "--password",
        envvar="SEALCHAT_PASSWORD",
        prompt=True,
        hide_input=True,
        help="Your password.",
    ),
]
RoomOption = Annotated[
    str,
    typer.Option(
        "--room",
        "-r",
        help="A room id, a room name (exact; ambiguous names are refused), or @username "
        "for a direct room.",
    ),
]
DEFAULT_URL = "http://127.0.0.1:8000"


@asynccontextmanager
async def signed_in(url: str, username: str, password: str) -> AsyncIterator[SealchatClient]:
    async with SealchatClient(url) as client:
        await client.login(username, password)
        yield client


async def find_room(client: SealchatClient, room: str) -> dict[str, Any]:
    """The room ``--room`` names (``SealchatClient.find_room``: exact, never a guess)."""
    return await client.find_room(room)


async def describe(client: SealchatClient, room: dict[str, Any]) -> str:
    """``name [id] owner: ...; members (n): ...``: who is in a room, not just its name."""
    return await client.describe_room(room)


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command; a refusal prints a clear message and exits 1 (no traceback)."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ClientError as exc:
        message = terminal_safe(exc.message, multiline=True)
        typer.echo(f"error: {terminal_safe(exc.code)}: {message}", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    @app.command()
    def send(
        text: str,
        room: RoomOption,
        username: UserOption,
        password: PasswordOption,
        url: UrlOption = DEFAULT_URL,
    ) -> None:
        """Seal and send one message."""

        async def work() -> None:
            async with signed_in(url, username, password) as client:
                target = await find_room(client, room)
                where = await describe(client, target)
                await client.connect()
                message = await client.send_text(target["id"], text)
                typer.echo(f"sent #{message['seq']} to {where}")

        run(work)

    @app.command()
    def history(
        room: RoomOption,
        username: UserOption,
        password: PasswordOption,
        url: UrlOption = DEFAULT_URL,
        limit: Annotated[int, typer.Option(help="How many recent messages.")] = 50,
    ) -> None:
        """Print a room's recent messages, opened."""

        async def work() -> None:
            async with signed_in(url, username, password) as client:
                target = await find_room(client, room)
                typer.echo(f"# {await describe(client, target)}", err=True)
                # Each message once: edits, reactions and replies folded in.
                from sealchat.cli_conversation import folded_history

                for line in await folded_history(client, target["id"], limit):
                    typer.echo(line)

        run(work)

    @app.command()
    def chat(
        room: RoomOption,
        username: UserOption,
        password: PasswordOption,
        url: UrlOption = DEFAULT_URL,
    ) -> None:
        """Chat interactively: type lines to send them; incoming messages are shown as
        they arrive. End with Ctrl-D or /quit."""
        run(lambda: interactive(url, username, password, room))

    @app.command()
    def rooms(username: UserOption, password: PasswordOption, url: UrlOption = DEFAULT_URL) -> None:
        """List my rooms with their ids, owners and members."""

        async def work() -> None:
            async with signed_in(url, username, password) as client:
                mine = await client.rooms()
                for room in sorted(mine, key=lambda r: (r["name"].casefold(), r["name"], r["id"])):
                    typer.echo(await describe(client, room))

        run(work)

    @app.command()
    def invitations(
        username: UserOption, password: PasswordOption, url: UrlOption = DEFAULT_URL
    ) -> None:
        """List the rooms I am invited to; accept one with `sealchat accept ROOM_ID`."""

        async def work() -> None:
            async with signed_in(url, username, password) as client:
                for invitation in await client.invitations():
                    typer.echo(describe_invitation(invitation))

        run(work)

    @app.command()
    def accept(
        room_id: str, username: UserOption, password: PasswordOption, url: UrlOption = DEFAULT_URL
    ) -> None:
        """Accept an invitation to a room (by its id): become a member."""

        async def work() -> None:
            async with signed_in(url, username, password) as client:
                room = await client.accept_invitation(room_id)
                typer.echo(f"joined {await describe(client, room)}")

        run(work)

    @app.command()
    def decline(
        room_id: str, username: UserOption, password: PasswordOption, url: UrlOption = DEFAULT_URL
    ) -> None:
        """Decline an invitation to a room (by its id)."""

        async def work() -> None:
            async with signed_in(url, username, password) as client:
                await client.decline_invitation(room_id)
                typer.echo(f"declined the invitation to {terminal_safe(room_id)}")

        run(work)


def describe_invitation(invitation: dict[str, Any]) -> str:
    room = invitation["room"]
    owner = (room.get("owner") or {}).get("username", "nobody")
    return terminal_safe(
        f"{room['name']} [{room['id']}] {room['visibility']} room, owner: {owner}; "
        f"{room['member_count']} members; invited by {invitation['inviter']['username']}"
    )


async def interactive(url: str, username: str, password: str, room: str) -> None:
    async with signed_in(url, username, password) as client:
        target = await find_room(client, room)
        await client.connect()
        where = await describe(client, target)
        typer.echo(f"* {where}: messages are sealed end to end. /quit to leave.")

        async def show_membership(payload: dict[str, Any], what: str) -> None:
            # Who can read what is typed here changes: say so on the spot.
            if payload.get("room_id") != target["id"]:
                return
            user = payload.get("user") or {}
            who = user.get("username") or await client.name_of(
                target["id"], str(payload.get("user_id"))
            )
            typer.echo(f"* {terminal_safe(who)} {what}")

        client.on("member:joined", lambda payload: show_membership(payload, "joined the room"))
        client.on("member:left", lambda payload: show_membership(payload, "left the room"))

        async def show_incoming() -> None:
            me = (client.user or {}).get("id")
            while True:
                message = await client.next_message(timeout=None)
                room_id = message["room_id"]
                if room_id == target["id"] and message["sender_id"] == me:
                    continue  # our own lines are already on screen
                opened = await client.open(message)
                sender = await client.name_of(room_id, message["sender_id"])
                if room_id == target["id"]:
                    typer.echo(render_message(opened, sender))
                else:  # another room's message: shown, with the room's name
                    known = client.core.rooms.get(room_id)
                    typer.echo(render_message(opened, sender, known.name if known else room_id))

        printer = asyncio.ensure_future(show_incoming())
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or line.strip() == "/quit":
                    break
                if line.strip():
                    await client.send_text(target["id"], line.rstrip("\n"))
        finally:
            printer.cancel()
