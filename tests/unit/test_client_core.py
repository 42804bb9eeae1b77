"""The client core without a network: ordering, resume, outbox, key lifecycle, relations."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path
from typing import Any

from sealchat.client.content import edit, reaction, reply, text
from sealchat.client.core import ClientCore
from sealchat.client.keyring import ClientKeyring
from sealchat.client.sealed import OpenedMessage
from tests.unit.client_fakes import FakeClock, FakeKeyService


def msg(seq: int, room: str = "r1", sender: str = "u-bob", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{room}-m{seq}",
        "room_id": room,
        "seq": seq,
        "sender_id": sender,
        "client_msg_id": f"c{seq}",
        "envelope": {},
        "created_at": "2026-11-29T10:00:00+00:00",
        **extra,
    }


def room(room_id: str = "r1", last_seq: int = 0, name: str = "general") -> dict[str, Any]:
    return {
        "id": room_id,
        "name": name,
        "visibility": "public",
        "last_seq": last_seq,
        "role": "member",
    }


def seqs(messages: list[dict[str, Any]]) -> list[int]:
    return [m["seq"] for m in messages]


async def drain(core: ClientCore) -> list[dict[str, Any]]:
    out = []
    while core.pending_messages():
        out.append(await core.next_message(0.1))
    return out


# -- ordering and resume ------------------------------------------------------------------


async def test_messages_are_released_once_in_seq_order() -> None:
    core = ClientCore()
    core.track_room(room())
    assert core.receive_message(msg(2)) == 0  # held: 1 is missing
    assert core.has_gap()
    assert core.receive_message(msg(3)) == 0
    assert core.receive_message(msg(1)) == 3
    assert core.receive_message(msg(2)) == 0  # a duplicate
    assert seqs(await drain(core)) == [1, 2, 3]
    assert core.cursors == {"r1": 3}
    assert core.rooms["r1"].last_seq == 3
    assert not core.has_gap()


async def test_each_room_stream_gets_its_own_room_only() -> None:
    core = ClientCore()
    core.track_room(room("r1"))
    core.track_room(room("r2", name="random"))
    stream = core.room_messages("r2")
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)  # subscribed
    core.receive_message(msg(1, "r1"))
    core.receive_message(msg(1, "r2"))
    got = await asyncio.wait_for(first, 1)
    assert got["room_id"] == "r2"
    await stream.aclose()
    assert seqs(await drain(core)) == [1, 1]  # the global inbox still has both


async def test_resume_starts_from_the_cursors_and_forgets_rooms_gone() -> None:
    core = ClientCore()
    core.track_room(room("r1", last_seq=5))
    core.track_room(room("r2", last_seq=0))
    assert core.cursors == {"r1": 5, "r2": 0}
    core.track_room(room("r1", last_seq=2))  # an older copy of the room: the cursor stays
    assert core.cursors["r1"] == 5
    ack = {
        "messages": [msg(5, "r1"), msg(6, "r1"), msg(7, "r1"), msg(1, "r2")],
        "has_more": {},
        "errors": {"r2": {"code": "forbidden", "message": "removed"}},
    }
    assert core.receive_sync(ack) == 3  # seq 5 was had already
    assert core.cursors == {"r1": 7}
    assert [(m["room_id"], m["seq"]) for m in await drain(core)] == [
        ("r1", 6),
        ("r1", 7),
        ("r2", 1),
    ]


async def test_a_passing_sync_error_keeps_the_cursor() -> None:
    core = ClientCore()
    core.track_room(room("r1", last_seq=3))
    core.receive_sync({"messages": [], "has_more": {}, "errors": {"r1": {"code": "unavailable"}}})
    assert core.cursors == {"r1": 3}


# -- the outbox ---------------------------------------------------------------------------


def test_the_outbox_survives_a_restart_without_plaintext(tmp_path: Path) -> None:
    path = tmp_path / "outbox.json"
    core = ClientCore(outbox_path=path)
    sealed = {"v": 1, "ct": "c2VhbGVk"}
    core.queue_send("r1", "c-1", sealed)
    core.queue_send("r1", "c-2", sealed)
    core.queue_send("r1", "c-1", {"v": 1, "ct": "b3RoZXI="})  # same id: the first stays
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600

    restarted = ClientCore(outbox_path=path)
    assert [(p.client_msg_id, p.envelope) for p in restarted.outbox.pending()] == [
        ("c-1", sealed),
        ("c-2", sealed),
    ]
    restarted.send_done("c-1")
    assert [p.client_msg_id for p in ClientCore(outbox_path=path).outbox.pending()] == ["c-2"]
    assert set(json.loads(path.read_text())) == {"pending"}


def test_leaving_a_room_drops_its_pending_sends(tmp_path: Path) -> None:
    core = ClientCore(outbox_path=tmp_path / "outbox.json")
    core.track_room(room("r1"))
    core.queue_send("r1", "c-1", {})
    core.queue_send("r2", "c-2", {})
    core.forget_room("r1")
    assert [p.client_msg_id for p in core.outbox.pending()] == ["c-2"]
    assert "r1" not in core.rooms and "r1" not in core.cursors


# -- the key lifecycle (docs/envelope.md §3.1) ----------------------------------------------


def keyed_core() -> tuple[ClientCore, ClientKeyring, FakeKeyService, FakeClock]:
    service, clock = FakeKeyService(), FakeClock()
    keyring = ClientKeyring(service, "k", clock=clock)
    core = ClientCore(clock=clock)
    core.keyring = keyring
    return core, keyring, service, clock


async def test_a_member_leaving_retires_the_rooms_sending_key() -> None:
    core, keyring, service, _ = keyed_core()
    first = await keyring.key_for_sending("r1")
    other = await keyring.key_for_sending("r2")
    assert await keyring.key_for_sending("r1") == first
    core.member_left({"room_id": "r1", "user_id": "u-carol", "reason": "removed"})
    assert await keyring.key_for_sending("r1") != first
    assert await keyring.key_for_sending("r2") == other  # other rooms keep theirs
    assert service.generated == 3


async def test_a_reconnect_retires_every_sending_key() -> None:
    core, keyring, _, _ = keyed_core()
    first, other = await keyring.key_for_sending("r1"), await keyring.key_for_sending("r2")
    core.connected()
    assert await keyring.key_for_sending("r1") != first
    assert await keyring.key_for_sending("r2") != other


async def test_a_sending_key_is_retired_after_an_hour() -> None:
    _, keyring, _, clock = keyed_core()
    first = await keyring.key_for_sending("r1")
    clock.now += 3599
    assert await keyring.key_for_sending("r1") == first
    clock.now += 1
    assert await keyring.key_for_sending("r1") != first


async def test_a_sending_key_is_retired_after_100_messages() -> None:
    _, keyring, _, _ = keyed_core()
    first = await keyring.key_for_sending("r1")
    for _ in range(99):
        assert await keyring.key_for_sending("r1") == first
    assert await keyring.key_for_sending("r1") != first  # the 101st message


async def test_keys_already_unwrapped_still_open_after_retirement() -> None:
    core, keyring, service, _ = keyed_core()
    first = await keyring.key_for_sending("r1")
    core.connected()
    assert await keyring.unwrap("r1", first.ciphertext_blob) == first.plaintext
    assert service.decrypted == 0


# -- relations through the core -------------------------------------------------------------


def opened(seq: int, content: dict[str, Any], sender: str = "u-bob") -> OpenedMessage:
    return OpenedMessage(msg(seq, sender=sender), content)


def test_relations_wait_for_a_late_target() -> None:
    core = ClientCore()
    target = "r1-m1"
    assert core.add_opened(opened(3, reaction(target, "👍").to_json(), "u-carol")) is None
    assert core.add_opened(opened(2, edit(target, "hello!").to_json())) is None
    assert core.add_opened(opened(4, reply("indeed", target).to_json(), "u-alice")) == "r1-m4"
    assert core.timeline("r1").held() == 2
    assert core.add_opened(opened(1, text("helo").to_json())) == target
    items = [i.to_json() for i in core.timeline("r1").items()]
    assert items == [
        {
            "id": target,
            "sender_id": "u-bob",
            "text": "hello!",
            "edited": True,
            "reactions": {"👍": ["u-carol"]},
            "in_reply_to": None,
            "deleted": False,
        },
        {
            "id": "r1-m4",
            "sender_id": "u-alice",
            "text": "indeed",
            "edited": False,
            "reactions": {},
            "in_reply_to": target,
            "deleted": False,
        },
    ]
    assert core.timeline("r1").held() == 0


def test_messages_that_did_not_open_are_not_items() -> None:
    core = ClientCore()
    assert core.add_opened(OpenedMessage(msg(1), None, "authentication_failed")) is None
    assert core.timeline("r1").items() == []


def deleted(seq: int, sender: str = "u-bob", relates_to: Any = None) -> OpenedMessage:
    return OpenedMessage(
        msg(seq, sender=sender, envelope=None, deleted=True, relates_to=relates_to), None
    )


def deletion(seq: int, target: str, sender: str = "u-bob") -> OpenedMessage:
    relation = {"type": "delete", "message_id": target}
    return OpenedMessage(msg(seq, sender=sender, envelope=None, relates_to=relation), None)


def test_a_deletion_marker_folds_the_item_its_edits_and_reactions_away() -> None:
    core = ClientCore()
    core.add_opened(opened(1, text("oops").to_json()))
    core.add_opened(opened(2, edit("r1-m1", "oops!").to_json()))
    core.add_opened(opened(3, reaction("r1-m1", "👍").to_json(), "u-carol"))
    core.add_opened(opened(4, reply("what?", "r1-m1").to_json(), "u-carol"))
    assert core.add_opened(deletion(5, "r1-m1")) == "r1-m1"
    first, answer = core.timeline("r1").items()
    assert (first.deleted, first.text, first.edited, first.reactions) == (True, None, False, {})
    assert (answer.deleted, answer.text, answer.in_reply_to) == (False, "what?", "r1-m1")
    # A duplicate marker, or the message arriving again deleted (history), changes nothing.
    core.add_opened(deletion(5, "r1-m1"))
    core.add_opened(deleted(1))
    assert [i.deleted for i in core.timeline("r1").items()] == [True, False]


def test_a_reaction_taken_back_and_messages_delivered_deleted() -> None:
    core = ClientCore()
    core.add_opened(deleted(3, "u-carol", {"type": "reaction", "message_id": "r1-m1"}))
    core.add_opened(opened(2, reaction("r1-m1", "👍").to_json(), "u-alice"))
    core.add_opened(deleted(4, relates_to={"type": "edit", "message_id": "r1-m1"}))
    core.add_opened(opened(1, text("lunch?").to_json()))
    [item] = core.timeline("r1").items()
    assert (item.text, item.edited, item.reactions) == ("lunch?", False, {"👍": ["u-alice"]})
    assert core.add_opened(deletion(5, "r1-m2", "u-alice")) == "r1-m1"
    assert core.timeline("r1").items()[0].reactions == {}
    assert core.timeline("r1").held() == 0


def test_the_server_read_state_and_another_device() -> None:
    core = ClientCore()
    core.set_user({"id": "u-me", "username": "me"})
    core.track_room({"id": "r1", "name": "r", "last_seq": 4, "last_read_seq": 2, "unread": 2})
    assert (core.read_markers["r1"].seq, core.unread("r1")) == (2, 2)
    # Live messages: from others and not a relation (but a reply) count.
    core.receive_message(msg(5))
    core.receive_message(msg(6, sender="u-me"))
    core.receive_message(msg(7, relates_to={"type": "reaction", "message_id": "r1-m5"}))
    core.receive_message(msg(8, relates_to={"type": "reply", "message_id": "r1-m5"}))
    assert core.unread("r1") == 4
    core.mark_read("r1", 8)  # read:updated from another device, up to the newest
    assert (core.read_markers["r1"].seq, core.unread("r1")) == (8, 0)
    core.mark_read("r1", 3)
    assert core.read_markers["r1"].seq == 8


# -- members, presence, typing, read markers ------------------------------------------------


def test_members_names_presence_and_typing() -> None:
    clock = FakeClock()
    core = ClientCore(clock=clock)
    core.receive_members(
        "r1",
        [
            {"user": {"id": "u-a", "username": "alice"}, "role": "owner", "online": True},
            {"user": {"id": "u-b", "username": "bob"}, "role": "member", "online": False},
        ],
    )
    assert core.name_of("u-a") == "alice" and core.presence == {"u-a": "online", "u-b": "offline"}
    core.member_joined(
        {"room_id": "r1", "user": {"id": "u-c", "username": "carol"}, "role": "member"}
    )
    assert sorted(core.members["r1"]) == ["u-a", "u-b", "u-c"]
    core.member_left({"room_id": "r1", "user_id": "u-b", "reason": "left"})
    assert sorted(core.members["r1"]) == ["u-a", "u-c"]
    core.presence_changed({"user_id": "u-b", "username": "bob", "status": "online"})
    assert core.presence["u-b"] == "online"
    core.typing_changed({"room_id": "r1", "user_id": "u-c", "username": "carol", "typing": True})
    assert core.typing("r1") == ["u-c"]
    clock.now += 10
    assert core.typing("r1") == []


def test_read_markers_never_move_back() -> None:
    core = ClientCore()
    core.track_room(room("r1", last_seq=10))
    assert core.unread("r1") == 10
    core.mark_read("r1", 7)
    core.mark_read("r1", 3)
    assert core.read_markers["r1"].seq == 7
    assert core.unread("r1") == 3
