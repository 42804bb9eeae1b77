"""What the terminal client shows: room labels with unread counts, typing, connection."""

from __future__ import annotations

from sealchat.tui.view import (
    RoomEntry,
    connection_label,
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
