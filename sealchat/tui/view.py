"""What the terminal client shows, as plain functions of the client's state (no Textual).

Every name and message here was written by someone else: it goes through
``terminal_safe`` and is shown as plain text (``rich.text.Text``), never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sealchat.client.terminal import terminal_safe

SIGILS = {"public": "#", "private": "!", "direct": "@"}


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
