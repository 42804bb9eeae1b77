"""What the terminal client shows, as plain functions of the client's state (no Textual).

Every name and message here was written by someone else: it goes through
``terminal_safe`` and is shown as plain text (``rich.text.Text``), never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sealchat.client.content import FileContent
from sealchat.client.room_timeline import TimelineItem
from sealchat.client.terminal import describe_file, terminal_safe

SIGILS = {"public": "#", "private": "!", "direct": "@"}
QUOTE_CHARS = 50


@dataclass
class RoomEntry:
    """A room in the list: its name as shown and how many messages wait unread."""

    id: str
    name: str
    visibility: str
    unread: int = 0
    members: dict[str, str] = field(default_factory=dict)  # user id -> username


def room_entry(room: dict[str, Any], me: str) -> RoomEntry:
    """From ``GET /api/rooms``; ``unread`` when the server counts it (else 0)."""
    unread = room.get("unread")
    name = str(room["name"])
    if room.get("visibility") == "direct":
        # A direct room's name lists both people; show the other one.
        others = [part for part in name.split(",") if part.strip() and part.strip() != me]
        name = others[0].strip() if others else name
    return RoomEntry(
        id=str(room["id"]),
        name=name,
        visibility=str(room.get("visibility", "public")),
        unread=unread if isinstance(unread, int) else 0,
    )


def room_label(entry: RoomEntry, width: int = 22) -> str:
    """``# general      3``: the name cut to fit, the unread count at the right."""
    count = f" {entry.unread}" if entry.unread else ""
    name = terminal_safe(f"{SIGILS.get(entry.visibility, '#')} {entry.name}")
    room = max(1, width - len(count))
    if len(name) > room:
        name = name[: max(1, room - 1)] + "…"
    return name.ljust(room) + count


def typing_line(names: list[str]) -> str:
    names = [terminal_safe(n) for n in names]
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is typing…"
    if len(names) <= 3:
        return f"{', '.join(names[:-1])} and {names[-1]} are typing…"
    return f"{len(names)} people are typing…"


def room_heading(entry: RoomEntry, online: int) -> str:
    people = len(entry.members)
    sigil = SIGILS.get(entry.visibility, "#")
    noun = "member" if people == 1 else "members"
    return terminal_safe(f"{sigil} {entry.name} · {people} {noun}, {online} online")


def connection_label(connected: bool, has_socket: bool) -> str:
    if connected:
        return "● connected"
    return "○ reconnecting…" if has_socket else "○ offline"


def item_line(
    item: TimelineItem,
    sender: str,
    stamp: str,
    target: TimelineItem | None = None,
    target_sender: str | None = None,
) -> str:
    """One timeline item (relations folded in): ``[10:42] alice: text (edited)  [👍 2]``,
    under a quote of the message it replies to; ``(message deleted)`` once deleted."""
    head = f"[{stamp}] {terminal_safe(sender)}"
    if item.deleted:
        line = f"{head}: (message deleted)"
    else:
        edited = " (edited)" if item.edited else ""
        reactions = "  ".join(
            f"{terminal_safe(key)} {len(who)}" for key, who in sorted(item.reactions.items())
        )
        line = f"{head}: {_body(item)}{edited}" + (f"  [{reactions}]" if reactions else "")
    if item.in_reply_to is None:
        return line
    return f"{reply_quote(target, target_sender)}\n{line}"


def reply_quote(target: TimelineItem | None, sender: str | None) -> str:
    """``> alice: the start of the text`` (the message a reply answers)."""
    if target is None:
        return "> (an earlier message)"
    who = terminal_safe(sender or target.sender_id[:8])
    if target.deleted or target.text is None:
        return f"> {who}: (message deleted)"
    text = terminal_safe(target.text.replace("\n", " "))
    short = text if len(text) <= QUOTE_CHARS else text[: QUOTE_CHARS - 1] + "…"
    return f"> {who}: {short}"


def _body(item: TimelineItem) -> str:
    if isinstance(item.content, FileContent):
        return describe_file(item.content, item.id)
    if item.text is None:
        return "[unsupported content]"
    return terminal_safe(item.text, multiline=True)
