"""Text from other people made safe to print on a terminal.

A message, a username or a room name is written by someone else. Printed raw, its
control characters could erase lines, move the cursor, forge a line that seems to come
from another sender, set the window title (OSC) or, through bidi overrides, show text in
an order other than the one it has. ``terminal_safe`` escapes every such character
visibly (ESC becomes the four characters ``\\x1b``), so nothing is hidden and nothing
is executed; with ``multiline`` the line breaks of a message are kept, each following
line marked as a continuation so it cannot pass for a line of its own.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sealchat.client.content import EDIT, REPLY, FileContent, Reaction, Text

if TYPE_CHECKING:
    from sealchat.client.sealed import OpenedMessage

# Bidi embeddings, overrides and isolates, the implicit marks, and the Unicode line and
# paragraph separators (which some terminals treat as line breaks).
_INVISIBLE_FORMAT = frozenset(
    [0x061C, 0x200E, 0x200F, 0x2028, 0x2029, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)
CONTINUATION = "  | "


def _is_unsafe(code: int) -> bool:
    # C0 controls (ESC among them), DEL and the C1 controls (CSI 0x9b, OSC 0x9d ...).
    return code < 0x20 or 0x7F <= code <= 0x9F or code in _INVISIBLE_FORMAT


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def terminal_safe(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control and bidi-override character shown as an escape.

    Tabs are kept. With ``multiline``, ``\\n`` (and ``\\r\\n``) stay line breaks and every
    line after the first starts with ``CONTINUATION``; otherwise they are escaped too.
    """
    if multiline:
        lines = text.replace("\r\n", "\n").split("\n")
        return ("\n" + CONTINUATION).join(terminal_safe(line) for line in lines)
    return "".join(
        _escape(char) if char != "\t" and _is_unsafe(ord(char)) else char for char in text
    )


def render_message(
    opened: OpenedMessage, sender: str, room: str | None = None, time_format: str = "%Y-%m-%d %H:%M"
) -> str:
    """One message as a terminal line; what others wrote is escaped (``terminal_safe``).

    ``room`` (a room's name) prefixes the line, for messages of a room not on screen."""
    when = datetime.fromisoformat(opened.message["created_at"]).astimezone()
    stamp = when.strftime(time_format)
    where = f"#{terminal_safe(room)} " if room is not None else ""
    sender = terminal_safe(sender)
    head = f"{where}[{stamp}] {sender}"
    if not opened.ok:
        return f"{head}: [unable to decrypt: {terminal_safe(str(opened.error))}]"
    content = opened.parsed
    if isinstance(content, Reaction):
        key = terminal_safe(content.key)
        return f"{head} reacted {key} to {terminal_safe(content.relates_to.message_id)}"
    if isinstance(content, FileContent):
        return f"{head}: {describe_file(content, opened.message['id'])}"
    if not isinstance(content, Text):
        return f"{head}: [unsupported content]"
    text = terminal_safe(content.text, multiline=True)
    relation = content.relates_to
    if relation is not None and relation.type == EDIT:
        return f"{head} (edit of {terminal_safe(relation.message_id)}): {text}"
    if relation is not None and relation.type == REPLY:
        return f"{head} (reply to {terminal_safe(relation.message_id)}): {text}"
    return f"{head}: {text}"


def describe_file(content: FileContent, message_id: str) -> str:
    """A sealed file as one terminal line's body (its name escaped)."""
    name = terminal_safe(content.name)
    kind = terminal_safe(content.media_type)
    return f"[file] {name} ({kind}, {content.size} bytes) id {message_id}"
