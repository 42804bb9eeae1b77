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
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer

from sealchat.client import ClientError, SealchatClient
from sealchat.client.sealed import OpenedMessage

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
    typer.Option("--room", "-r", help="A room name, or @username for a direct room."),
]
DEFAULT_URL = "http://127.0.0.1:8000"


@asynccontextmanager
async def signed_in(url: str, username: str, password: str) -> AsyncIterator[SealchatClient]:
    async with SealchatClient(url) as client:
        await client.login(username, password)
        yield client


async def find_room(client: SealchatClient, room: str) -> dict[str, Any]:
    """My room of that name, a public room of that name (joined), or a direct room."""
    if room.startswith("@"):
        return await client.open_dm(room[1:])
    wanted = room.strip().lower()
    for mine in await client.rooms():
        if mine["name"].lower() == wanted:
            return mine
    for public in await client.directory():
        if public["name"].lower() == wanted:
            return await client.join(public["id"])
    raise ClientError("not_found", f"no room named {room!r} (create it first)")


class Names:
    """User ids to usernames for one room, looked up once."""

    def __init__(self, client: SealchatClient, room_id: str) -> None:
        self._client = client
        self._room_id = room_id
        self._names: dict[str, str] = {}

    async def of(self, user_id: str) -> str:
        if user_id not in self._names:
            for member in await self._client.members(self._room_id):
                self._names[member["user"]["id"]] = member["user"]["username"]
        return self._names.get(user_id, user_id[:8])


def render(opened: OpenedMessage, sender: str) -> str:
    when = datetime.fromisoformat(opened.message["created_at"]).astimezone()
    stamp = when.strftime("%Y-%m-%d %H:%M")
    if not opened.ok:
        return f"[{stamp}] {sender}: [unable to decrypt: {opened.error}]"
    if opened.text is None:
        return f"[{stamp}] {sender}: [unsupported content]"
    return f"[{stamp}] {sender}: {opened.text}"


def run(work: Callable[[], Awaitable[T]]) -> T:
    """Run a command; a refusal prints one clear line and exits 1 (no traceback)."""
    try:
        return asyncio.run(work())  # type: ignore[arg-type]
    except ClientError as exc:
        typer.echo(f"error: {exc.code}: {exc.message}", err=True)
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
                await client.connect()
                message = await client.send_text(target["id"], text)
                typer.echo(f"sent #{message['seq']} to {target['name']}")

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
                names = Names(client, target["id"])
                for opened in await client.history_opened(target["id"], limit=limit):
                    typer.echo(render(opened, await names.of(opened.message["sender_id"])))

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


async def interactive(url: str, username: str, password: str, room: str) -> None:
    async with signed_in(url, username, password) as client:
        target = await find_room(client, room)
        names = Names(client, target["id"])
        await client.connect()
        typer.echo(f"* {target['name']}: messages are sealed end to end. /quit to leave.")

        async def show_incoming() -> None:
            while True:
                message = await client.next_message(timeout=None)
                if message["room_id"] != target["id"]:
                    continue
                if message["sender_id"] == (client.user or {}).get("id"):
                    continue  # our own lines are already on screen
                opened = await client.open(message)
                typer.echo(render(opened, await names.of(message["sender_id"])))

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
