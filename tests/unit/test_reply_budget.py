"""The byte budget of a sync reply and of a history page, against in-memory fakes."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sealchat.domain.models import User
from sealchat.services.messages import MESSAGE_ALLOWANCE_BYTES, MessageService
from sealchat.services.rate_limit import TokenBucketLimiter
from sealchat.services.rooms import RoomService
from tests.envelopes import opaque_envelope
from tests.fakes import MemoryStore, RecordingFanout

ALICE = User("a", "alice")


def envelope_of(size_label: int, label: str) -> dict[str, Any]:
    return opaque_envelope(label + "x" * size_label)


def wire_size(envelope: dict[str, Any]) -> int:
    stored = json.dumps(envelope, separators=(",", ":"), ensure_ascii=False)
    return len(stored) + MESSAGE_ALLOWANCE_BYTES


class CountingStore(MemoryStore):
    """Records the ``limit`` of every page read, to see how much one query may load."""

    def __init__(self) -> None:
        super().__init__()
        self.limits: list[int] = []

    async def list_messages(self, room_id: str, **paging: Any) -> Any:
        self.limits.append(paging.get("limit", 50))
        return await super().list_messages(room_id, **paging)


def service(store: MemoryStore, *, reply_bytes: int, page_max: int = 500) -> MessageService:
    return MessageService(
        store,
        RoomService(store, store, RecordingFanout()),
        RecordingFanout(),
        TokenBucketLimiter(1000, 1000),
        max_envelope_bytes=64 * 1024,
        history_page_max=200,
        sync_page_max=page_max,
        sync_reply_max_bytes=reply_bytes,
        history_reply_max_bytes=reply_bytes,
    )


@pytest.fixture
def store() -> CountingStore:
    store = CountingStore()
    store.users[ALICE.id] = ALICE
    return store


async def fill(messages: MessageService, room_id: str, count: int, size: int) -> int:
    """Send ``count`` envelopes of about ``size`` bytes; returns one's wire size."""
    for n in range(count):
        envelope = envelope_of(size, f"{room_id[:4]}-{n:03d}")
        await messages.send(ALICE.id, room_id, f"m{n}", envelope)
    return wire_size(envelope)


async def test_sync_stops_at_the_byte_budget_and_pages_on(store: CountingStore) -> None:
    probe = service(store, reply_bytes=10**9)
    room = (await probe._rooms.create(ALICE, "big", "public")).room
    one = await fill(probe, room.id, 10, 3000)
    messages = service(store, reply_bytes=4 * one + one // 2)

    first = await messages.sync(ALICE.id, {room.id: 0})
    assert [m.seq for m in first.messages] == [1, 2, 3, 4]
    assert first.has_more == [room.id]
    second = await messages.sync(ALICE.id, {room.id: 4})
    assert [m.seq for m in second.messages] == [5, 6, 7, 8]
    third = await messages.sync(ALICE.id, {room.id: 8})
    assert [m.seq for m in third.messages] == [9, 10]
    assert third.has_more == []


async def test_sync_always_returns_one_message_even_over_the_budget(store: CountingStore) -> None:
    messages = service(store, reply_bytes=1024)
    room = (await messages._rooms.create(ALICE, "huge", "public")).room
    other = (await messages._rooms.create(ALICE, "next", "public")).room
    await fill(messages, room.id, 3, 5000)
    await fill(messages, other.id, 1, 10)

    result = await messages.sync(ALICE.id, {room.id: 0, other.id: 0})
    assert [m.seq for m in result.messages] == [1]
    assert result.has_more == [room.id, other.id]
    seen = 1
    while result.has_more:
        result = await messages.sync(ALICE.id, {room.id: seen, other.id: 0})
        seen += len([m for m in result.messages if m.room_id == room.id])
    assert seen == 3


async def test_sync_budget_spans_rooms_in_cursor_order(store: CountingStore) -> None:
    probe = service(store, reply_bytes=10**9)
    a = (await probe._rooms.create(ALICE, "a", "public")).room
    b = (await probe._rooms.create(ALICE, "b", "public")).room
    c = (await probe._rooms.create(ALICE, "c", "public")).room
    one = await fill(probe, a.id, 2, 2000)
    await fill(probe, b.id, 3, 2000)
    await fill(probe, c.id, 1, 2000)
    messages = service(store, reply_bytes=4 * one)

    result = await messages.sync(ALICE.id, {a.id: 0, b.id: 0, c.id: 0})
    assert [(m.room_id, m.seq) for m in result.messages] == [
        (a.id, 1),
        (a.id, 2),
        (b.id, 1),
        (b.id, 2),
    ]
    assert result.has_more == [b.id, c.id]


async def test_sync_of_big_envelopes_reads_little_beyond_the_budget(store: CountingStore) -> None:
    messages = service(store, reply_bytes=256 * 1024)
    room = (await messages._rooms.create(ALICE, "big", "public")).room
    await fill(messages, room.id, 40, 45_000)
    store.limits.clear()

    result = await messages.sync(ALICE.id, {room.id: 0})
    assert len(result.messages) == 4
    # No query asked for the 500 messages of the count budget.
    assert max(store.limits) <= 6


async def test_sync_of_small_messages_takes_few_queries(store: CountingStore) -> None:
    messages = service(store, reply_bytes=1024 * 1024)
    room = (await messages._rooms.create(ALICE, "chatty", "public")).room
    await fill(messages, room.id, 300, 50)
    store.limits.clear()

    result = await messages.sync(ALICE.id, {room.id: 0})
    assert len(result.messages) == 300 and result.has_more == []
    assert len(store.limits) <= 2


async def test_history_page_keeps_the_newest_within_the_budget(store: CountingStore) -> None:
    probe = service(store, reply_bytes=10**9)
    room = (await probe._rooms.create(ALICE, "h", "public")).room
    one = await fill(probe, room.id, 10, 3000)
    messages = service(store, reply_bytes=3 * one)

    back, more = await messages.history(ALICE.id, room.id, limit=50)
    assert [m.seq for m in back] == [8, 9, 10] and more
    forward, more = await messages.history(ALICE.id, room.id, after_seq=2, limit=50)
    assert [m.seq for m in forward] == [3, 4, 5] and more
    tail, more = await messages.history(ALICE.id, room.id, after_seq=8, limit=50)
    assert [m.seq for m in tail] == [9, 10] and not more


async def test_history_page_returns_one_message_over_the_budget(store: CountingStore) -> None:
    messages = service(store, reply_bytes=1024)
    room = (await messages._rooms.create(ALICE, "h", "public")).room
    await fill(messages, room.id, 2, 5000)
    page, more = await messages.history(ALICE.id, room.id, before_seq=3)
    assert [m.seq for m in page] == [2] and more
