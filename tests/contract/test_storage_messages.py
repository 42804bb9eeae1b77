from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from sealchat.adapters.sql.storage import SqlMessageStore, SqlRoomStore
from sealchat.domain.errors import Conflict
from sealchat.domain.models import Message, NewMessage, Role, Room, User
from tests.contract.conftest import RoomFactory, UserFactory


def a_message(room: Room, sender: User, client_msg_id: str | None = None) -> NewMessage:
    return NewMessage(
        id=str(uuid4()),
        room_id=room.id,
        sender_id=sender.id,
        client_msg_id=client_msg_id or uuid4().hex,
        envelope_json='{"v":1,"ct":"c2VhbGVk","note":"é✓"}',
    )


async def send(messages: SqlMessageStore, room: Room, sender: User, count: int) -> list[Message]:
    sent = []
    for _ in range(count):
        result = await messages.append_message(a_message(room, sender))
        assert result is not None
        sent.append(result.message)
    return sent


async def test_append_stores_the_message_with_seq_one(
    messages: SqlMessageStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    new = a_message(room, alice)

    result = await messages.append_message(new)

    assert result is not None
    assert result.created is True
    stored = result.message
    assert (stored.id, stored.room_id, stored.sender_id) == (new.id, room.id, alice.id)
    assert (stored.client_msg_id, stored.envelope_json) == (new.client_msg_id, new.envelope_json)
    assert stored.seq == 1
    assert stored.created_at.tzinfo is UTC
    assert abs(datetime.now(UTC) - stored.created_at) < timedelta(minutes=1)
    assert await messages.list_messages(room.id) == [stored]


async def test_seqs_count_up_per_room(
    messages: SqlMessageStore,
    rooms: SqlRoomStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice = await make_user()
    first, second = await make_room(alice, "first"), await make_room(alice, "second")

    in_first = await send(messages, first, alice, 3)
    in_second = await send(messages, second, alice, 2)

    assert [m.seq for m in in_first] == [1, 2, 3]
    assert [m.seq for m in in_second] == [1, 2]
    first_now = await rooms.get_room(first.id)
    assert first_now is not None and first_now.last_seq == 3


async def test_resend_returns_the_stored_message_without_using_a_seq(
    messages: SqlMessageStore,
    rooms: SqlRoomStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    original = await messages.append_message(a_message(room, alice, "client-1"))
    assert original is not None

    # A retry after a lost ack: same client id, maybe a fresh message id and envelope.
    retry = a_message(room, alice, "client-1")
    resent = await messages.append_message(retry)

    assert resent is not None
    assert resent.created is False
    assert resent.message == original.message
    assert await messages.list_messages(room.id) == [original.message]
    after = await messages.append_message(a_message(room, alice))
    assert after is not None and after.message.seq == 2
    stored_room = await rooms.get_room(room.id)
    assert stored_room is not None and stored_room.last_seq == 2


async def test_client_ids_are_per_sender_and_room(
    messages: SqlMessageStore,
    rooms: SqlRoomStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice, bob = await make_user(), await make_user()
    room, other = await make_room(alice, "one"), await make_room(alice, "two")
    await rooms.add_member(room.id, bob.id, Role.MEMBER)

    results = [
        await messages.append_message(a_message(room, alice, "same")),
        await messages.append_message(a_message(room, bob, "same")),
        await messages.append_message(a_message(other, alice, "same")),
    ]

    assert all(r is not None and r.created for r in results)
    assert [m.sender_id for m in await messages.list_messages(room.id)] == [alice.id, bob.id]


async def test_a_reused_message_id_is_a_conflict_and_uses_no_seq(
    messages: SqlMessageStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    first = a_message(room, alice)
    await messages.append_message(first)

    with pytest.raises(Conflict):
        await messages.append_message(NewMessage(first.id, room.id, alice.id, "other", "{}"))

    after = await messages.append_message(a_message(room, alice))
    assert after is not None and after.message.seq == 2


async def test_a_non_member_cannot_append(
    messages: SqlMessageStore,
    rooms: SqlRoomStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice, mallory = await make_user(), await make_user()
    room = await make_room(alice)

    assert await messages.append_message(a_message(room, mallory)) is None

    assert await messages.list_messages(room.id) == []
    unchanged = await rooms.get_room(room.id)
    assert unchanged is not None and unchanged.last_seq == 0
    first = await messages.append_message(a_message(room, alice))
    assert first is not None and first.message.seq == 1


async def test_appending_to_an_unknown_room_stores_nothing(
    messages: SqlMessageStore, make_user: UserFactory
) -> None:
    alice = await make_user()
    ghost = NewMessage(str(uuid4()), str(uuid4()), alice.id, "c", "{}")

    assert await messages.append_message(ghost) is None
    assert await messages.list_messages(ghost.room_id) == []


async def test_a_removed_member_cannot_append(
    messages: SqlMessageStore,
    rooms: SqlRoomStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice, bob = await make_user(), await make_user()
    room = await make_room(alice)
    await rooms.add_member(room.id, bob.id, Role.MEMBER)
    await rooms.remove_member(room.id, bob.id)

    assert await messages.append_message(a_message(room, bob)) is None


# list_messages


@pytest.fixture
async def ten(
    messages: SqlMessageStore, make_user: UserFactory, make_room: RoomFactory
) -> tuple[Room, list[Message]]:
    """A room holding seqs 1..10, next to another room with messages of its own."""
    alice = await make_user()
    room, noise = await make_room(alice, "ten"), await make_room(alice, "noise")
    sent = []
    for _ in range(10):
        sent += await send(messages, room, alice, 1)
        await send(messages, noise, alice, 1)
    return room, sent


def seqs(found: list[Message]) -> list[int]:
    return [m.seq for m in found]


async def test_list_without_cursor_gives_the_newest_ascending(
    messages: SqlMessageStore, ten: tuple[Room, list[Message]]
) -> None:
    room, sent = ten

    assert await messages.list_messages(room.id) == sent
    assert seqs(await messages.list_messages(room.id, limit=3)) == [8, 9, 10]


async def test_list_before_pages_backwards(
    messages: SqlMessageStore, ten: tuple[Room, list[Message]]
) -> None:
    room, _ = ten

    assert seqs(await messages.list_messages(room.id, before_seq=8, limit=3)) == [5, 6, 7]
    assert seqs(await messages.list_messages(room.id, before_seq=3, limit=5)) == [1, 2]
    assert await messages.list_messages(room.id, before_seq=1) == []


async def test_list_after_pages_forwards(
    messages: SqlMessageStore, ten: tuple[Room, list[Message]]
) -> None:
    room, sent = ten

    assert seqs(await messages.list_messages(room.id, after_seq=2, limit=3)) == [3, 4, 5]
    assert await messages.list_messages(room.id, after_seq=0, limit=100) == sent
    assert seqs(await messages.list_messages(room.id, after_seq=8)) == [9, 10]
    assert await messages.list_messages(room.id, after_seq=10) == []


async def test_list_between_cursors(
    messages: SqlMessageStore, ten: tuple[Room, list[Message]]
) -> None:
    room, _ = ten

    found = await messages.list_messages(room.id, after_seq=2, before_seq=6, limit=10)

    assert seqs(found) == [3, 4, 5]


async def test_list_with_no_room_for_results(
    messages: SqlMessageStore, ten: tuple[Room, list[Message]]
) -> None:
    room, _ = ten

    assert await messages.list_messages(room.id, limit=0) == []
    assert await messages.list_messages(str(uuid4())) == []


# ordering under concurrency


async def test_concurrent_appends_get_gapless_unique_seqs(
    messages: SqlMessageStore,
    rooms: SqlRoomStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    senders = [await make_user() for _ in range(10)]
    room = await make_room(senders[0])
    for sender in senders[1:]:
        await rooms.add_member(room.id, sender.id, Role.MEMBER)

    async def appender(sender: User) -> list[int]:
        return [m.seq for m in await send(messages, room, sender, 20)]

    async def reader() -> list[int]:
        # A client resuming from its last seq must never skip one: seqs become visible
        # in seq order, so every page continues exactly where the previous one ended.
        seen: list[int] = []
        async with asyncio.timeout(60):
            while len(seen) < 200:
                page = seqs(await messages.list_messages(room.id, after_seq=len(seen)))
                assert page == list(range(len(seen) + 1, len(seen) + 1 + len(page)))
                seen += page
                await asyncio.sleep(0)
        return seen

    read, *per_sender = await asyncio.gather(reader(), *(appender(sender) for sender in senders))

    assert sorted(seq for got in per_sender for seq in got) == list(range(1, 201))
    # Each sender waited for its previous ack, so its own messages are in order.
    assert all(got == sorted(got) for got in per_sender)
    assert read == list(range(1, 201))
    stored = await messages.list_messages(room.id, limit=500)
    assert seqs(stored) == list(range(1, 201))
    final = await rooms.get_room(room.id)
    assert final is not None and final.last_seq == 200
