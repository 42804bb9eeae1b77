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
from sealchat.client.terminal import terminal_safe

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
    """The room ``--room`` names: a room id, a name, or @username for a direct room.

    Among my rooms, then among public rooms (joined on the way): an id, then the one
    room of exactly that name, then the one room of that name ignoring case. More
    than one candidate is refused, with each listed (name, id, owner, members), so a
    look-alike room someone else made is never picked silently.
    """
    if room.startswith("@"):
        return await client.open_dm(room[1:])
    mine = await client.rooms()
    found = _match(mine, room)
    if len(found) > 1:
        raise await _ambiguous(client, room, found)
    if found:
        return found[0]
    public = await client.directory()
    found = _match(public, room)
    if len(found) > 1:
        raise await _ambiguous(client, room, found)
    if found:
        return await client.join(found[0]["id"])
    raise ClientError("not_found", f"no room named {room!r} (create it first)")


def _match(rooms: list[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    """The room with that id, else those of exactly that name, else of that name in any case."""
    by_id = [r for r in rooms if r["id"] == wanted]
    if by_id:
        return by_id
    name = wanted.strip()
    exact = [r for r in rooms if r["name"] == name]
    if exact:
        return exact
    return [r for r in rooms if r["name"].casefold() == name.casefold()]


async def _ambiguous(
    client: SealchatClient, wanted: str, candidates: list[dict[str, Any]]
) -> ClientError:
    lines = [f"{len(candidates)} rooms match {wanted!r}; name one by its id with --room ID:"]
    for candidate in candidates:
        lines.append("  " + await describe(client, candidate))
    return ClientError("ambiguous_room", "\n".join(lines))


MAX_NAMES_SHOWN = 10


async def describe(client: SealchatClient, room: dict[str, Any]) -> str:
    """``name [id] owner: ...; members (n): ...``: who is in a room, not just its name."""
    if "member_count" in room:  # a public room we are not in: the directory's summary
        owner = (room.get("owner") or {}).get("username", "nobody")
        who = f"owner: {owner}; {room['member_count']} members"
    else:
        members = await client.members(room["id"])
        owners = [m["user"]["username"] for m in members if m["role"] == "owner"]
        names = [m["user"]["username"] for m in members]
        shown = ", ".join(names[:MAX_NAMES_SHOWN])
        if len(names) > MAX_NAMES_SHOWN:
            shown += f", and {len(names) - MAX_NAMES_SHOWN} more"
        owner = ", ".join(owners) if owners else "nobody"
        if room.get("visibility") == "direct":
            owner = "nobody (direct room)"
        who = f"owner: {owner}; members ({len(names)}): {shown}"
    return terminal_safe(f"{room['name']} [{room['id']}] {room.get('visibility', '')} room, {who}")


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
    """One message for the terminal; what others wrote is escaped (``terminal_safe``)."""
    when = datetime.fromisoformat(opened.message["created_at"]).astimezone()
    stamp = when.strftime("%Y-%m-%d %H:%M")
    sender = terminal_safe(sender)
    if not opened.ok:
        return f"[{stamp}] {sender}: [unable to decrypt: {terminal_safe(str(opened.error))}]"
    if opened.text is None:
        return f"[{stamp}] {sender}: [unsupported content]"
    return f"[{stamp}] {sender}: {terminal_safe(opened.text, multiline=True)}"


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
        names = Names(client, target["id"])
        await client.connect()
        where = await describe(client, target)
        typer.echo(f"* {where}: messages are sealed end to end. /quit to leave.")

        async def show_membership(payload: dict[str, Any], what: str) -> None:
            # Who can read what is typed here changes: say so on the spot.
            if payload.get("room_id") != target["id"]:
                return
            user = payload.get("user") or {}
            who = user.get("username") or await names.of(str(payload.get("user_id")))
            typer.echo(f"* {terminal_safe(who)} {what}")

        client.on("member:joined", lambda payload: show_membership(payload, "joined the room"))
        client.on("member:left", lambda payload: show_membership(payload, "left the room"))

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
