"""Conversation commands: ``sealchat reply|edit|delete|react|read|unread``, and the
folded history (each message once, with its latest edit, its reactions counted and the
message it replies to quoted).

A message is named by its ``#seq`` in the room (as ``history`` prints it) or by its id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer

from sealchat.chat_cli import (
    RoomOption,
    find_room,
)
from sealchat.client import ClientError, SealchatClient
from sealchat.client.content import FileContent
from sealchat.client.room_timeline import TimelineItem
from sealchat.client.sealed import OpenedMessage
from sealchat.client.terminal import describe_file, terminal_safe
from sealchat.commands.account import (
    Account,
    PasswordOption,
    ProfileOption,
    UrlOption,
    UserOption,
    run,
    signed_in,
)

MessageArg = Annotated[str, typer.Argument(help="The message: its #seq in the room, or its id.")]
QUOTE_CHARS = 60


async def resolve_message(client: SealchatClient, room_id: str, ref: str) -> str:
    """The id of the message ``ref`` names: ``#12`` / ``12`` (a seq), or an id."""
    digits = ref.removeprefix("#")
    if not digits.isdigit():
        return ref
    found = await client.history(room_id, after_seq=int(digits) - 1, limit=1)
    if not found or found[0]["seq"] != int(digits):
        raise ClientError("not_found", f"no message #{digits} in this room")
    return str(found[0]["id"])


async def folded_history(
    client: SealchatClient, room_id: str, limit: int, before_seq: int | None = None
) -> list[str]:
    """The room's recent messages (before ``before_seq``) as lines: relations folded into
    their targets."""
    paging: dict[str, int] = {"limit": limit}
    if before_seq is not None:
        paging["before_seq"] = before_seq
    opened = await client.history_opened(room_id, **paging)
    by_id = {o.message["id"]: o for o in opened}
    timeline = client.room(room_id).timeline()
    lines: list[str] = []
    for item in timeline.items():
        shown = by_id.get(item.id)
        if shown is None:
            continue  # an older page's item
        sender = await client.name_of(room_id, item.sender_id)
        quote = await reply_quote(client, room_id, timeline.item(item.in_reply_to or ""), item)
        if quote:
            lines.append(quote)
        lines.append(render_item(item, shown, sender))
    for failed in (o for o in opened if not o.ok):
        sender = await client.name_of(room_id, failed.message["sender_id"])
        error = terminal_safe(str(failed.error))
        lines.append(f"#{failed.message['seq']} {terminal_safe(sender)}: [unable to open: {error}]")
    return lines


def render_item(item: TimelineItem, shown: OpenedMessage, sender: str) -> str:
    """``#seq [when] sender: text (edited)   [👍 2]``, or ``(message deleted)``."""
    when = datetime.fromisoformat(shown.message["created_at"]).astimezone()
    head = f"#{item.seq} [{when:%Y-%m-%d %H:%M}] {terminal_safe(sender)}"
    if item.deleted:
        return f"{head}: (message deleted)"
    body = _body(item, shown)
    edited = " (edited)" if item.edited else ""
    reactions = "  ".join(
        f"{terminal_safe(key)} {len(who)}" for key, who in sorted(item.reactions.items())
    )
    return f"{head}: {body}{edited}" + (f"   [{reactions}]" if reactions else "")


def _body(item: TimelineItem, shown: OpenedMessage) -> str:
    if isinstance(item.content, FileContent):
        return describe_file(item.content, shown.message["id"])
    if item.text is None:
        return "[unsupported content]"
    return terminal_safe(item.text, multiline=True)


async def reply_quote(
    client: SealchatClient, room_id: str, target: TimelineItem | None, item: TimelineItem
) -> str | None:
    """``  > #12 alice: the start of the text`` for a reply (None for anything else)."""
    if item.in_reply_to is None:
        return None
    if target is None:
        return "  > (a message not loaded)"
    sender = terminal_safe(await client.name_of(room_id, target.sender_id))
    if target.deleted or target.text is None:
        return f"  > #{target.seq} {sender}: (message deleted)"
    text = terminal_safe(target.text.replace("\n", " "))
    short = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
    return f"  > #{target.seq} {sender}: {short}"


def register(app: typer.Typer) -> None:
    @app.command()
    def reply(
        message: MessageArg,
        text: str,
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Reply to a message."""
        _relation(
            Account(profile, url, username, password), room, message, lambda h, m: h.reply(m, text)
        )

    @app.command()
    def edit(
        message: MessageArg,
        text: str,
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Replace the text of one of your messages."""
        _relation(
            Account(profile, url, username, password), room, message, lambda h, m: h.edit(m, text)
        )

    @app.command()
    def react(
        message: MessageArg,
        key: Annotated[str, typer.Argument(help="The reaction, usually one emoji.")],
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """React to a message (take it back with ``delete`` on the reaction)."""
        _relation(
            Account(profile, url, username, password), room, message, lambda h, m: h.react(m, key)
        )

    @app.command()
    def delete(
        message: MessageArg,
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Delete a message for good (yours, or any in a room you own)."""
        _relation(
            Account(profile, url, username, password), room, message, lambda h, m: h.delete(m)
        )

    @app.command()
    def read(
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
        upto: Annotated[
            int | None, typer.Option("--upto", help="Read up to this seq (default: all).")
        ] = None,
    ) -> None:
        """Mark a room read (on every device of yours)."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                target = await find_room(client, room)
                seq = target["last_seq"] if upto is None else upto
                marker = await client.mark_read(target["id"], seq)
                typer.echo(f"read up to #{marker['last_read_seq']}; {marker['unread']} unread")

        run(work)

    @app.command()
    def unread(
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
    ) -> None:
        """Your rooms with unread messages."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                for room in await client.rooms():
                    if room.get("unread"):
                        typer.echo(f"{room['unread']:>5}  {terminal_safe(room['name'])}")

        run(work)


def _relation(account: Account, room: str, ref: str, act: Any) -> None:
    async def work() -> None:
        async with signed_in(account) as client:
            target = await find_room(client, room)
            message_id = await resolve_message(client, target["id"], ref)
            await client.connect()
            stored = await act(client.room(target["id"]), message_id)
            typer.echo(f"sent #{stored['seq']}")

    run(work)
