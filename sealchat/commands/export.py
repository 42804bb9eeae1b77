"""``sealchat export --room NAME``: a person's own copy of a room, opened in the client.

A client command like ``sealchat history``: it signs in, pages through the whole room,
opens each message here (the server only ever sees envelopes) and writes JSON or
Markdown. The result is plaintext: it is written with owner-only permissions.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from sealchat.chat_cli import RoomOption, find_room
from sealchat.client import SealchatClient
from sealchat.client.sealed import OpenedMessage
from sealchat.commands.account import (
    Account,
    PasswordOption,
    ProfileOption,
    UrlOption,
    UserOption,
    run,
    signed_in,
)

PAGE = 200


class ExportFormat(StrEnum):
    json = "json"
    markdown = "markdown"


async def opened_messages(client: SealchatClient, room_id: str) -> list[OpenedMessage]:
    """Every message of the room, oldest first, opened."""
    found: list[OpenedMessage] = []
    after = 0
    while True:
        page = await client.history_opened(room_id, after_seq=after, limit=PAGE)
        if not page:
            return found
        found.extend(page)
        after = int(page[-1].message["seq"])


def as_entry(opened: OpenedMessage, sender: str) -> dict[str, Any]:
    message = opened.message
    entry: dict[str, Any] = {
        "id": message["id"],
        "seq": message["seq"],
        "sender_id": message["sender_id"],
        "sender": sender,
        "created_at": message["created_at"],
    }
    if opened.ok:
        entry["content"] = opened.content
    else:
        entry["error"] = opened.error
    return entry


def to_json(room: dict[str, Any], exported_by: str, entries: list[dict[str, Any]]) -> str:
    document = {
        "room": {"id": room["id"], "name": room["name"]},
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "exported_by": exported_by,
        "messages": entries,
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def to_markdown(room: dict[str, Any], exported_by: str, entries: list[dict[str, Any]]) -> str:
    lines = [
        f"# {room['name']}",
        "",
        f"Exported by {exported_by} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
        f"{len(entries)} messages.",
        "",
    ]
    for entry in entries:
        when = datetime.fromisoformat(entry["created_at"]).astimezone(UTC)
        head = f"**{entry['sender']}**, {when:%Y-%m-%d %H:%M} UTC"
        content = entry.get("content") or {}
        if "error" in entry:
            body = f"_[unable to decrypt: {entry['error']}]_"
        elif content.get("type") == "text":
            body = str(content.get("text", "")).replace("\n", "\n  ")
        else:
            body = f"_[{content.get('type', 'unsupported')} content]_"
        lines.append(f"- {head}: {body}")
    return "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write plaintext readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)


def register(app: typer.Typer) -> None:
    @app.command()
    def export(
        room: RoomOption,
        profile: ProfileOption = "default",
        url: UrlOption = None,
        username: UserOption = None,
        password: PasswordOption = None,
        format: Annotated[
            ExportFormat, typer.Option("--format", "-f", help="json or markdown.")
        ] = ExportFormat.json,
        output: Annotated[
            Path | None, typer.Option("--output", "-o", help="A file (default: stdout).")
        ] = None,
    ) -> None:
        """Export a room you are in, opened, to JSON or Markdown (plaintext: keep it safe)."""

        async def work() -> str:
            async with signed_in(Account(profile, url, username, password)) as client:
                target = await find_room(client, room)
                entries = []
                for opened in await opened_messages(client, target["id"]):
                    sender = await client.name_of(target["id"], opened.message["sender_id"])
                    entries.append(as_entry(opened, sender))
                me = client.user["username"] if client.user else (username or "")
                render = to_json if format is ExportFormat.json else to_markdown
                return render(target, me, entries)

        text = run(work)
        if output is None:
            typer.echo(text, nl=False)
        else:
            write_private(output, text)
            typer.echo(f"wrote {output} (plaintext, readable by you only)", err=True)
