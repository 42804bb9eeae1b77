"""Naming rooms safely: which room a user means, and a line that says who is in it.

Pure functions over the server's room and member JSON; ``SealchatClient.find_room`` and
``describe_room`` fetch what they need and call these. The rules (an id, then the one
room of exactly that name, then of that name in any case; more than one candidate is
refused, each listed) stop a look-alike room someone else made from being picked.
"""

from __future__ import annotations

from typing import Any

from sealchat.client.errors import ClientError
from sealchat.client.terminal import terminal_safe

MAX_NAMES_SHOWN = 10


def match_rooms(rooms: list[dict[str, Any]], wanted: str) -> list[dict[str, Any]]:
    """The room with that id, else those of exactly that name, else of that name in any case."""
    by_id = [r for r in rooms if r["id"] == wanted]
    if by_id:
        return by_id
    name = wanted.strip()
    exact = [r for r in rooms if r["name"] == name]
    if exact:
        return exact
    return [r for r in rooms if r["name"].casefold() == name.casefold()]


def describe_room(room: dict[str, Any], members: list[dict[str, Any]] | None = None) -> str:
    """``name [id] visibility room, owner: ...; members (n): ...``, terminal-safe.

    A directory room (one with ``member_count``) is described from its summary; any other
    needs its ``members``."""
    if "member_count" in room:  # a public room we are not in: the directory's summary
        owner = (room.get("owner") or {}).get("username", "nobody")
        who = f"owner: {owner}; {room['member_count']} members"
    else:
        members = members or []
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


def ambiguous(wanted: str, described: list[str]) -> ClientError:
    lines = [f"{len(described)} rooms match {wanted!r}; name one by its id with --room ID:"]
    lines += ["  " + line for line in described]
    return ClientError("ambiguous_room", "\n".join(lines))


def not_found(wanted: str) -> ClientError:
    return ClientError("not_found", f"no room named {wanted!r} (create it first)")
