"""One message as a terminal line: content types, relations, other rooms, escapes."""

from __future__ import annotations

from typing import Any

from sealchat.client.content import edit, reaction, reply, text
from sealchat.client.sealed import OpenedMessage
from sealchat.client.terminal import render_message

MESSAGE = {"id": "m2", "room_id": "r", "seq": 2, "created_at": "2026-11-29T10:00:00+00:00"}


def line(content: dict[str, Any] | None, error: str | None = None, room: str | None = None) -> str:
    rendered = render_message(OpenedMessage(MESSAGE, content, error), "bob", room)
    return rendered.split("] ", 1)[1]  # without the local time stamp


def test_each_content_type() -> None:
    assert line(text("hi").to_json()) == "bob: hi"
    assert line(reply("yes", "m1").to_json()) == "bob (reply to m1): yes"
    assert line(edit("m1", "fixed").to_json()) == "bob (edit of m1): fixed"
    assert line(reaction("m1", "👍").to_json()) == "bob reacted 👍 to m1"
    assert line({"type": "poll"}) == "bob: [unsupported content]"
    assert line(None, "authentication_failed") == "bob: [unable to decrypt: authentication_failed]"


def test_another_rooms_message_names_the_room_escaped() -> None:
    rendered = render_message(OpenedMessage(MESSAGE, text("x").to_json()), "bob", "ops\x1b[2J")
    assert rendered.startswith("#ops\\x1b[2J [")
    assert rendered.endswith("bob: x")


def test_what_others_wrote_is_escaped() -> None:
    assert line(text("a\x1b]0;owned\x07").to_json()) == "bob: a\\x1b]0;owned\\x07"
    assert line(reaction("m1", "\u202e").to_json()) == "bob reacted \\u202e to m1"
