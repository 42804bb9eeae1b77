"""The client's ordering buffer: each message once, in order, gaps held back."""

from __future__ import annotations

from sealchat.client.reorder_buffer import ReorderBuffer


def msg(seq: int, room: str = "r") -> dict[str, object]:
    return {"room_id": room, "seq": seq}


def seqs(messages: list[dict[str, object]]) -> list[object]:
    return [m["seq"] for m in messages]


def test_in_order_messages_pass_straight_through() -> None:
    timeline = ReorderBuffer()
    timeline.start_at("r", 0)
    assert seqs(timeline.accept(msg(1))) == [1]
    assert seqs(timeline.accept(msg(2))) == [2]
    assert not timeline.has_gap()


def test_duplicates_are_dropped() -> None:
    timeline = ReorderBuffer()
    timeline.start_at("r", 0)
    timeline.accept(msg(1))
    assert timeline.accept(msg(1)) == []


def test_a_gap_holds_later_messages_until_it_is_filled() -> None:
    timeline = ReorderBuffer()
    timeline.start_at("r", 5)
    assert timeline.accept(msg(7)) == []
    assert timeline.has_gap()
    assert seqs(timeline.accept(msg(6))) == [6, 7]
    assert not timeline.has_gap()
    assert timeline.cursors["r"] == 7


def test_an_untracked_room_starts_at_its_first_message() -> None:
    timeline = ReorderBuffer()
    assert seqs(timeline.accept(msg(40, "new"))) == [40]
    assert timeline.accept(msg(3, "new")) == []


def test_history_before_the_start_is_not_missed() -> None:
    timeline = ReorderBuffer()
    timeline.start_at("r", 10)
    timeline.start_at("r", 3)  # a later, older claim does not rewind the cursor
    assert timeline.accept(msg(10)) == []
    assert seqs(timeline.accept(msg(11))) == [11]
