"""What the terminal client shows: room labels with unread counts, typing, connection."""

from __future__ import annotations

from sealchat.client.content import Text
from sealchat.client.room_timeline import TimelineItem
from sealchat.tui.view import (
    RoomEntry,
    connection_label,
    item_line,
    reply_quote,
    room_entry,
    room_heading,
    room_label,
    typing_line,
)


def test_room_labels_fit_and_show_unread_counts() -> None:
    entry = RoomEntry("r1", "a rather long room name indeed", "public", unread=12)
    label = room_label(entry, 17)
    assert len(label) == 17 and label.endswith(" 12") and "…" in label
    assert room_label(RoomEntry("r2", "ops", "private"), 10) == "! ops     "


def test_a_direct_room_is_named_after_the_other_person_and_names_are_escaped() -> None:
    entry = room_entry(
        {"id": "d", "name": "alice, bob", "visibility": "direct", "unread": 2}, "bob"
    )
    assert (entry.name, entry.unread) == ("alice", 2)
    assert room_entry({"id": "x", "name": "ops"}, "bob").unread == 0  # server without counts
    assert "\x1b" not in room_label(RoomEntry("e", "evil\x1b[2J", "public"), 20)


def test_typing_and_connection_lines() -> None:
    assert typing_line([]) == ""
    assert typing_line(["alice"]) == "alice is typing…"
    assert typing_line(["alice", "bob"]) == "alice and bob are typing…"
    assert typing_line(["a", "b", "c", "d"]) == "4 people are typing…"
    assert connection_label(True, True) == "● connected"
    assert connection_label(False, True) == "○ reconnecting…"
    assert connection_label(False, False) == "○ offline"


def test_the_room_heading_counts_members_and_who_is_online() -> None:
    entry = RoomEntry("r", "ops", "public", members={"u1": "alice"})
    assert room_heading(entry, 1) == "# ops · 1 member, 1 online"
    entry.members["u2"] = "bob"
    assert room_heading(entry, 1) == "# ops · 2 members, 1 online"


def _item(**fields: object) -> TimelineItem:
    base: dict[str, object] = {
        "id": "m1",
        "seq": 1,
        "sender_id": "u1",
        "content": Text("hello"),
        "text": "hello",
    }
    return TimelineItem(**{**base, **fields})  # type: ignore[arg-type]


def test_an_item_shows_its_latest_text_its_reactions_and_what_it_replies_to() -> None:
    assert item_line(_item(), "alice", "10:42") == "[10:42] alice: hello"
    edited = _item(text="hello again", edited=True, reactions={"👍": ["u2", "u3"], "🎉": ["u2"]})
    assert item_line(edited, "alice", "10:42") == (
        "[10:42] alice: hello again (edited)  [🎉 1  👍 2]"
    )
    reply = _item(id="m2", seq=2, sender_id="u2", text="hi", in_reply_to="m1")
    assert item_line(reply, "bob", "10:43", edited, "alice") == (
        "> alice: hello again\n[10:43] bob: hi"
    )
    assert item_line(reply, "bob", "10:43") == "> (an earlier message)\n[10:43] bob: hi"


def test_a_deleted_item_and_a_quote_of_one() -> None:
    gone = _item(text=None, deleted=True, reactions={})
    assert item_line(gone, "alice", "10:42") == "[10:42] alice: (message deleted)"
    reply = _item(id="m2", seq=2, text="hi", in_reply_to="m1")
    assert item_line(reply, "bob", "10:43", gone, "alice").startswith(
        "> alice: (message deleted)\n"
    )


def test_quotes_are_cut_and_escaped() -> None:
    long = _item(text="\x1b[2J" + "x" * 80)
    quote = reply_quote(long, "eve\x1b")
    assert "\x1b" not in quote and quote.endswith("…") and len(quote) <= 62
