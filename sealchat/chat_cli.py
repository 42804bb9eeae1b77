"""Chat from the command line: ``sealchat send``, ``sealchat history``, ``sealchat chat``,
and invitations.

Who the command runs as: a stored session (``sealchat login``), or flags and
``SEALCHAT_URL``, ``SEALCHAT_USERNAME``, ``SEALCHAT_PASSWORD`` so scripts and bots run
unattended (sealchat/commands/account.py). Messages are sealed and opened here, in the
client; the server only relays envelopes.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sealchat.client import SealchatClient
from sealchat.client.sealed import OpenedMessage
from sealchat.client.terminal import terminal_safe
from sealchat.client.trust import trust_indicator
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

RoomOption = Annotated[
    str,
    typer.Option(
        "--room",
        "-r",
        help="A room id, a room name (exact; ambiguous names are refused), or @username "
        "for a direct room.",
    ),
]
LastOption = Annotated[
    int, typer.Option("--last", min=0, max=500, help="How many recent messages to show first.")
]


async def find_room(client: SealchatClient, room: str) -> dict[str, Any]:
    """The room ``--room`` names (``SealchatClient.find_room``: exact, never a guess)."""
    return await client.find_room(room)


async def describe(client: SealchatClient, room: dict[str, Any]) -> str:
    """``name [id] owner: ...; members (n): ...``: who is in a room, not just its name."""
    return await client.describe_room(room)


def register(app: typer.Typer) -> None:
    @app.command()
    def send(
        room: RoomOption,
        text: Annotated[str | None, typer.Argument(help="The message.")] = None,
        file: Annotated[
            Path | None,
            typer.Option(
                "--file",
                "-f",
                help="Seal and send this file instead of a text.",
                exists=True,
                dir_okay=False,
                readable=True,
            ),
        ] = None,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Seal and send one message, or one file (--file)."""
        if file is not None:
            from sealchat.commands.files import send_file_command

            run(lambda: send_file_command(Account(profile, url, username, password), room, file))
            return
        if text is None:
            typer.echo("error: give a message, or --file PATH", err=True)
            raise typer.Exit(2)

        async def work() -> None:
            assert text is not None
            async with signed_in(Account(profile, url, username, password)) as client:
                target = await find_room(client, room)
                where = await describe(client, target)
                await client.connect()
                message = await client.send_text(target["id"], text)
                typer.echo(f"sent #{message['seq']} to {where}")

        run(work)

    @app.command()
    def history(
        room: RoomOption,
        limit: Annotated[int, typer.Option(help="How many recent messages.")] = 50,
        as_json: JsonOption = False,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Print a room's recent messages, opened."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                target = await find_room(client, room)
                typer.echo(f"# {await describe(client, target)}", err=True)
                if as_json:
                    opened_page = await client.history_opened(target["id"], limit=limit)
                    echo_json([await opened_json(client, opened) for opened in opened_page])
                    return
                # Each message once: edits, reactions and replies folded in.
                from sealchat.commands.conversation import folded_history

                for line in await folded_history(client, target["id"], limit):
                    typer.echo(line)

        run(work)

    @app.command()
    def chat(
        room: RoomOption,
        last: LastOption = 20,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Chat interactively: the room's last messages first, then type lines to send
        them; incoming messages are shown as they arrive. End with Ctrl-D or /quit."""
        run(lambda: interactive(Account(profile, url, username, password), room, last))

    @app.command()
    def invitations(
        as_json: JsonOption = False,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """List the rooms I am invited to; accept one with `sealchat accept ROOM_ID`
        (or `sealchat room join NAME`)."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                pending = await client.invitations()
                if as_json:
                    echo_json(pending)
                    return
                for invitation in pending:
                    typer.echo(describe_invitation(invitation))

        run(work)

    @app.command()
    def accept(
        room_id: str,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Accept an invitation to a room (by its id): become a member."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                room = await client.accept_invitation(room_id)
                typer.echo(f"joined {await describe(client, room)}")

        run(work)

    @app.command()
    def decline(
        room_id: str,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Decline an invitation to a room (by its id)."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
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


async def interactive(account: Account, room: str, last: int = 20) -> None:
    from sealchat.commands.chat_live import ChatSession  # it imports this module

    async with signed_in(account) as client:
        target = await find_room(client, room)
        # Followed from here on: the live stream starts after ``start``, history ends there.
        client.core.track_room(target)
        start = client.core.cursors[target["id"]]
        await client.connect()
        where = await describe(client, target)
        trust = trust_indicator(await client.server_config())
        typer.echo(
            f"* {where}: messages are sealed in this client. {trust.line()}. "
            "/help for commands, /quit to leave."
        )
        await show_recent(client, target["id"], start, last)

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

        session = ChatSession(client, target["id"])

        async def show_incoming() -> None:
            while True:
                opened = await client.open(await client.next_message(timeout=None))
                for shown in await session.incoming(opened):
                    typer.echo(shown)

        printer = asyncio.ensure_future(show_incoming())
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, sys.stdin.readline)
                if not line or line.strip() == "/quit":
                    break
                if line.strip():
                    for answer in await session.typed(line.rstrip("\n")):
                        typer.echo(answer)
        finally:
            printer.cancel()


async def show_recent(client: SealchatClient, room_id: str, start: int, last: int) -> None:
    """The room's last messages up to ``start``, where the live stream begins: nothing is
    shown twice and nothing is missed."""
    if last <= 0 or start <= 0:
        return
    from sealchat.commands.conversation import folded_history

    # Each message once: edits, reactions and replies folded in.
    for line in await folded_history(client, room_id, last, before_seq=start + 1):
        typer.echo(line)


async def opened_json(client: SealchatClient, opened: OpenedMessage) -> dict[str, Any]:
    """One opened message for scripts: who, when, its text (or why it did not open)."""
    message = opened.message
    return {
        "id": message["id"],
        "seq": message["seq"],
        "room_id": message["room_id"],
        "sender": {
            "id": message["sender_id"],
            "username": await client.name_of(message["room_id"], message["sender_id"]),
        },
        "created_at": message["created_at"],
        "content": opened.content if opened.ok else None,
        "text": opened.text if opened.ok else None,
        "error": None if opened.ok else str(opened.error),
    }
