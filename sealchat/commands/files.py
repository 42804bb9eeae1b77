"""Sealed files and search from the command line: ``sealchat send --file``,
``sealchat download`` and ``sealchat search`` (docs/protocol.md §3.6, envelope.md §12)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from sealchat.chat_cli import (
    RoomOption,
    describe,
    find_room,
)
from sealchat.client import SealchatClient
from sealchat.client.content import FileContent
from sealchat.client.errors import ClientError
from sealchat.client.file_seal import FileSealError
from sealchat.client.files import download_file, send_file
from sealchat.client.room_timeline import TimelineItem
from sealchat.client.search import DEFAULT_DEPTH, search_room, searchable_text
from sealchat.client.terminal import terminal_safe
from sealchat.commands.account import (
    Account,
    PasswordOption,
    ProfileOption,
    UrlOption,
    UserOption,
    run,
    signed_in,
)


class ProgressBar:
    """``label [#####     ] 45% 1.2/2.7 MB`` on stderr, redrawn at most ten times a second."""

    def __init__(self, label: str, width: int = 30) -> None:
        self._label = label
        self._width = width
        self._drawn = 0.0
        self._interactive = sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - self._drawn < 0.1:
            return
        self._drawn = now
        share = done / total if total else 1.0
        filled = int(share * self._width)
        bar = "#" * filled + " " * (self._width - filled)
        line = f"{self._label} [{bar}] {share:4.0%} {done / 1e6:.1f}/{total / 1e6:.1f} MB"
        if self._interactive:
            sys.stderr.write(f"\r{line}")
            if done >= total:
                sys.stderr.write("\n")
        elif done >= total:
            sys.stderr.write(f"{line}\n")
        sys.stderr.flush()


async def send_file_command(account: Account, room: str, path: Path) -> None:
    async with signed_in(account) as client:
        target = await find_room(client, room)
        where = await describe(client, target)
        await client.connect()
        message = await send_file(
            client, target["id"], path, progress=ProgressBar(f"sealing {path.name}")
        )
        typer.echo(f"sent {terminal_safe(path.name)} as #{message['seq']} to {where}")


async def latest_file(
    client: SealchatClient, room_id: str, message_id: str | None, depth: int
) -> tuple[dict[str, Any], FileContent]:
    """The file message ``message_id`` (or the room's newest file) among the last ``depth``."""
    before: int | None = None
    seen = 0
    while seen < depth:
        page = await client.history(room_id, before_seq=before, limit=min(200, depth - seen))
        if not page:
            break
        seen += len(page)
        for message in reversed(page):
            if message_id is not None and message["id"] != message_id:
                continue
            opened = await client.open(message)
            parsed = opened.parsed
            if isinstance(parsed, FileContent):
                return message, parsed
            if message_id is not None:
                raise ClientError("not_a_file", "that message is not a file")
        before = page[0]["seq"]
    raise ClientError("not_found", "no such file message in this room's recent history")


def describe_item(item: TimelineItem, sender: str, stamp: str) -> str:
    text = searchable_text(item) or ""
    kind = "[file] " if isinstance(item.content, FileContent) else ""
    body = terminal_safe(text, multiline=True)
    return f"#{item.seq} [{stamp}] {terminal_safe(sender)}: {kind}{body}"


def register(app: typer.Typer) -> None:
    @app.command()
    def download(
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
        message: Annotated[
            str | None,
            typer.Option(
                "--message", "-m", help="The file message's id (default: the newest file)."
            ),
        ] = None,
        output: Annotated[
            Path, typer.Option("--output", "-o", help="A file, or a directory for the file's name.")
        ] = Path("."),
        depth: Annotated[int, typer.Option(help="How far back to look for the file.")] = 1000,
    ) -> None:
        """Download a file sent to a room and decrypt it here."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                target = await find_room(client, room)
                _, content = await latest_file(client, target["id"], message, depth)
                try:
                    saved = await download_file(
                        client, content, output, progress=ProgressBar(f"opening {content.name}")
                    )
                except FileSealError as exc:
                    raise ClientError(exc.reason, f"unable to decrypt the file: {exc}") from None
                typer.echo(f"saved {terminal_safe(str(saved))} ({content.size} bytes)")

        run(work)

    @app.command()
    def search(
        words: str,
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
        depth: Annotated[
            int, typer.Option(help="How many recent messages to open and search.")
        ] = DEFAULT_DEPTH,
        context: Annotated[int, typer.Option(help="Messages of context around a hit.")] = 1,
    ) -> None:
        """Search a room's recent history for messages and file names with every word
        (case and accents ignored). Decrypted here; nothing is stored."""

        async def work() -> None:
            async with signed_in(Account(profile, url, username, password)) as client:
                target = await find_room(client, room)
                hits = await search_room(
                    client,
                    target["id"],
                    words,
                    depth=depth,
                    context=context,
                    progress=lambda n: typer.echo(f"opened {n} messages", err=True),
                )
                for hit in hits:
                    for item in (*hit.before, hit.item, *hit.after):
                        sender = await client.name_of(target["id"], item.sender_id)
                        stamp = hit.times[item.id][:16].replace("T", " ")
                        mark = ">" if item is hit.item else " "
                        typer.echo(f"{mark} {describe_item(item, sender, stamp)}")
                    typer.echo("--")
                typer.echo(f"{len(hits)} found", err=True)

        run(work)
