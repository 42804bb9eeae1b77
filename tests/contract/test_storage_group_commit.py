"""Group commit: many sends in one transaction, each with its own answer, within bounds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql import dialect, group_commit_postgres
from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.group_commit import BatchCommitter, GroupCommitWriter, Outcome
from sealchat.adapters.sql.migrate import upgrade_to_head
from sealchat.adapters.sql.storage import (
    SqlMessageStore,
    SqlRoomStore,
    SqlUserStore,
    message_committer,
)
from sealchat.domain.errors import Conflict, Unavailable
from sealchat.domain.models import (
    AppendResult,
    NewMessage,
    Relation,
    RelationType,
    Role,
    Room,
    User,
    Visibility,
)
from tests.contract.conftest import RoomFactory, UserFactory
from tests.contract.test_storage_messages import a_message
from tests.pg_support import admin_url, create_temp_database, drop_database


class Recording:
    """A committer that remembers the size of every batch it was given."""

    def __init__(self, inner: BatchCommitter) -> None:
        self.inner = inner
        self.batches: list[int] = []

    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        self.batches.append(len(batch))
        return await self.inner.commit(batch, created_at)

    async def close(self) -> None:
        await self.inner.close()


class Writer:
    def __init__(self, engine: AsyncEngine, *, queue_max: int = 5000, batch_max: int = 256):
        committer = message_committer(engine)
        assert committer is not None
        self.recording = Recording(committer)
        self.writer = GroupCommitWriter(self.recording, queue_max=queue_max, batch_max=batch_max)
        self.store = SqlMessageStore(engine, self.writer)

    async def __aenter__(self) -> Writer:
        self.writer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.writer.aclose()

    async def send_together(self, news: Sequence[NewMessage]) -> list[AppendResult | None]:
        return list(await asyncio.gather(*(self.store.append_message(n) for n in news)))


@pytest.fixture
async def writer(engine: AsyncEngine) -> AsyncIterator[Writer]:
    async with Writer(engine) as writer:
        yield writer


def stored(result: AppendResult | None) -> AppendResult:
    assert result is not None
    return result


async def test_one_batch_answers_each_message_on_its_own(
    writer: Writer, rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, mallory = await make_user(), await make_user()
    room = await make_room(alice)
    original = stored(await writer.store.append_message(a_message(room, alice, "first")))
    taken = a_message(room, alice)
    await writer.store.append_message(taken)
    writer.recording.batches.clear()

    resend, outsider, good, same_id, after = await asyncio.gather(
        writer.store.append_message(a_message(room, alice, "first")),
        writer.store.append_message(a_message(room, mallory)),
        writer.store.append_message(a_message(room, alice, "good")),
        writer.store.append_message(NewMessage(taken.id, room.id, alice.id, "other", "{}")),
        writer.store.append_message(a_message(room, alice)),
        return_exceptions=True,
    )

    assert writer.recording.batches == [5]
    assert isinstance(resend, AppendResult) and resend.created is False
    assert resend.message == original.message
    assert outsider is None
    assert isinstance(same_id, Conflict)  # a reused message id fails alone
    assert isinstance(good, AppendResult) and good.created is True
    assert isinstance(after, AppendResult) and after.created is True
    assert (good.message.seq, after.message.seq) == (3, 4)
    listed = await writer.store.list_messages(room.id)
    assert [m.seq for m in listed] == [1, 2, 3, 4]
    assert listed[2:] == [good.message, after.message]
    final = await rooms.get_room(room.id)
    assert final is not None and final.last_seq == 4


async def test_a_repeat_within_one_batch_returns_the_first(
    writer: Writer, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)

    first, again, other = await writer.send_together(
        [a_message(room, alice, "dup"), a_message(room, alice, "dup"), a_message(room, alice)]
    )

    assert writer.recording.batches == [3]
    assert stored(first).created is True and stored(again).created is False
    assert stored(again).message == stored(first).message
    assert stored(other).message.seq == 2
    assert [m.seq for m in await writer.store.list_messages(room.id)] == [1, 2]


async def test_many_rooms_in_one_batch_get_dense_seqs_each(
    writer: Writer, rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    several = [await make_room(alice, f"room-{i}") for i in range(5)]
    news = [a_message(room, alice) for _ in range(4) for room in several]

    results = await writer.send_together(news)

    assert writer.recording.batches == [20]
    for room in several:
        mine = [stored(r).message for r in results if stored(r).message.room_id == room.id]
        assert [m.seq for m in mine] == [1, 2, 3, 4]  # in the order they were sent
        assert await writer.store.list_messages(room.id) == mine
        now = await rooms.get_room(room.id)
        assert now is not None and now.last_seq == 4


async def test_plain_messages_around_a_relation_in_one_batch_keep_the_counter_right(
    writer: Writer, rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    # On SQLite a room's counter is written once per batch, and before a relation (which
    # bumps it itself): plain, plain, reply, bad reply, plain, other room, plain.
    alice, mallory = await make_user(), await make_user()
    room, other = await make_room(alice, "busy"), await make_room(alice, "other")
    target = stored(await writer.store.append_message(a_message(room, alice)))
    writer.recording.batches.clear()

    def reply(message_id: str) -> NewMessage:
        plain = a_message(room, alice)
        return NewMessage(
            plain.id,
            plain.room_id,
            plain.sender_id,
            plain.client_msg_id,
            plain.envelope_json,
            relates_to=Relation(RelationType.REPLY, message_id),
        )

    results = await asyncio.gather(
        writer.store.append_message(a_message(room, alice)),
        writer.store.append_message(a_message(room, alice)),
        writer.store.append_message(reply(target.message.id)),
        writer.store.append_message(reply(str(uuid4()))),  # no such target: refused alone
        writer.store.append_message(a_message(room, mallory)),  # not a member
        writer.store.append_message(a_message(room, alice)),
        writer.store.append_message(a_message(other, alice)),
        writer.store.append_message(a_message(room, alice)),
        return_exceptions=True,
    )

    assert writer.recording.batches == [8]
    assert not isinstance(results[3], AppendResult) and results[4] is None
    seqs = [stored(r).message.seq for i, r in enumerate(results) if i not in (3, 4)]  # type: ignore[arg-type]
    assert seqs == [2, 3, 4, 5, 1, 6]
    assert [m.seq for m in await writer.store.list_messages(room.id)] == [1, 2, 3, 4, 5, 6]
    for each, last in ((room, 6), (other, 1)):
        now = await rooms.get_room(each.id)
        assert now is not None and now.last_seq == last
    after = stored(await writer.store.append_message(a_message(room, alice)))
    assert after.message.seq == 7


async def test_concurrent_sends_in_small_batches_give_dense_unique_seqs(
    engine: AsyncEngine, rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    senders = [await make_user() for _ in range(20)]
    room = await make_room(senders[0])
    for sender in senders[1:]:
        await rooms.add_member(room.id, sender.id, Role.MEMBER)

    async with Writer(engine, batch_max=16) as writer:

        async def sender_task(sender: User) -> list[int]:
            return [
                stored(await writer.store.append_message(a_message(room, sender))).message.seq
                for _ in range(10)
            ]

        per_sender = await asyncio.gather(*(sender_task(s) for s in senders))

    assert sorted(seq for seqs in per_sender for seq in seqs) == list(range(1, 201))
    assert all(seqs == sorted(seqs) for seqs in per_sender)
    assert max(writer.recording.batches) <= 16
    assert len(writer.recording.batches) < 200  # sends waiting together shared a commit
    stored_seqs = [m.seq for m in await SqlMessageStore(engine).list_messages(room.id, limit=500)]
    assert stored_seqs == list(range(1, 201))


async def test_a_full_queue_refuses_at_once_and_stores_nothing_of_it(
    engine: AsyncEngine, rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)

    async with Writer(engine, queue_max=5) as writer:
        results = await asyncio.gather(
            *(writer.store.append_message(a_message(room, alice)) for _ in range(20)),
            return_exceptions=True,
        )
        later = await writer.store.append_message(a_message(room, alice))

    accepted = [r for r in results if isinstance(r, AppendResult)]
    refused = [r for r in results if isinstance(r, Unavailable)]
    assert (len(accepted), len(refused)) == (5, 15)
    assert "waiting" in refused[0].message
    assert [r.message.seq for r in accepted] == [1, 2, 3, 4, 5]
    assert stored(later).message.seq == 6  # the writer goes on once the queue drains
    assert [m.seq for m in await writer.store.list_messages(room.id)] == [1, 2, 3, 4, 5, 6]
    final = await rooms.get_room(room.id)
    assert final is not None and final.last_seq == 6


async def test_two_writers_on_one_database_share_a_room(
    engine: AsyncEngine, rooms: SqlRoomStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    # Two nodes: each its own writer, both sending to one room, some resends racing.
    alice, bob = await make_user(), await make_user()
    room = await make_room(alice)
    await rooms.add_member(room.id, bob.id, Role.MEMBER)

    async with Writer(engine) as one, Writer(engine) as two:

        async def node(writer: Writer, sender: User, tag: str) -> list[AppendResult | None]:
            found: list[AppendResult | None] = []
            for i in range(20):
                found += await writer.send_together(
                    [a_message(room, sender), a_message(room, alice, f"shared-{i}")]
                )
            return found

        first, second = await asyncio.gather(node(one, alice, "a"), node(two, bob, "b"))

    results = [stored(r) for r in first + second]
    created = sorted(r.message.seq for r in results if r.created)
    assert created == list(range(1, 61))  # 40 own messages and 20 shared ones, once each
    for i in range(20):
        shared = [r.message for r in results if r.message.client_msg_id == f"shared-{i}"]
        assert len(shared) == 2 and shared[0] == shared[1]
    listed = await SqlMessageStore(engine).list_messages(room.id, limit=100)
    assert [m.seq for m in listed] == list(range(1, 61))


async def test_a_resend_racing_another_node_returns_that_nodes_message(
    writer: Writer, engine: AsyncEngine, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    elsewhere = a_message(room, alice, "raced")
    async with engine.begin() as conn:
        # Another node holds the room's seq and has stored the same client id, uncommitted.
        assert await dialect.append_message(conn, elsewhere, datetime.now(UTC)) == 1
        mine = asyncio.ensure_future(writer.store.append_message(a_message(room, alice, "raced")))
        other = asyncio.ensure_future(writer.store.append_message(a_message(room, alice)))
        await asyncio.sleep(0.3)
        assert not mine.done()  # the writer waits for the room, it does not guess

    assert stored(await mine).created is False
    assert stored(await mine).message.id == elsewhere.id
    assert stored(await other).message.seq == 2
    assert [m.seq for m in await writer.store.list_messages(room.id)] == [1, 2]


async def test_closing_stores_or_refuses_every_waiting_send(
    engine: AsyncEngine, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    writer = Writer(engine, batch_max=8)
    await writer.__aenter__()

    sends = [asyncio.ensure_future(writer.store.append_message(a_message(room, alice)))]
    sends += [
        asyncio.ensure_future(writer.store.append_message(a_message(room, alice)))
        for _ in range(49)
    ]
    await asyncio.sleep(0)
    await writer.__aexit__()
    results = await asyncio.gather(*sends, return_exceptions=True)

    ok = [r.message for r in results if isinstance(r, AppendResult)]
    assert all(isinstance(r, AppendResult | Unavailable) for r in results)
    assert await SqlMessageStore(engine).list_messages(room.id, limit=100) == ok
    with pytest.raises(Unavailable):
        await writer.store.append_message(a_message(room, alice))


# A database that goes away and comes back.


async def _fresh_database(url: str) -> tuple[AsyncEngine, Room, User]:
    await upgrade_to_head(url)
    engine = create_engine(url)
    alice = User(id=str(uuid4()), username="alice")
    await SqlUserStore(engine).upsert_user(alice)
    room = Room(
        id=str(uuid4()),
        name="back",
        visibility=Visibility.PUBLIC,
        created_by=alice.id,
        created_at=datetime.now(UTC),
    )
    return engine, await SqlRoomStore(engine).create_room(room, alice.id), alice


async def test_sqlite_writer_reports_unavailable_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "chat.db"
    path.mkdir()  # a directory where the database should be: SQLite cannot open it
    url = f"sqlite+aiosqlite:///{path}"
    dead = create_engine(url)
    async with Writer(dead) as writer:
        with pytest.raises(Unavailable):
            await writer.store.append_message(NewMessage("m", "r", "u", "c", "{}"))

        path.rmdir()
        engine, room, alice = await _fresh_database(url)
        try:
            back = await writer.store.append_message(a_message(room, alice))
            assert stored(back).message.seq == 1
        finally:
            await engine.dispose()
    await dead.dispose()


@pytest.mark.postgres
async def test_postgres_writer_reports_unavailable_then_recovers() -> None:
    url = await create_temp_database()
    engine, room, alice = await _fresh_database(url)
    try:
        async with Writer(engine) as writer:
            assert stored(await writer.store.append_message(a_message(room, alice))).created
            await engine.dispose()
            await drop_database(url)  # the server forgets the database and our connection

            with pytest.raises(Unavailable):
                await writer.store.append_message(a_message(room, alice))

            await _recreate(url)
            engine, room, alice = await _fresh_database(url)
            back = await writer.store.append_message(a_message(room, alice))
            assert stored(back).message.seq == 1
    finally:
        await engine.dispose()
        await drop_database(url)


async def _recreate(url: str) -> None:
    name = make_url(url).database
    admin = make_url(admin_url()).set(drivername="postgresql")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


# Enough rows that PostgreSQL's planner prefers an index wherever one answers a row.
_BIG_DATABASE = """
INSERT INTO users (id, username, created_at)
    SELECT 'u' || g, 'user' || g, now() FROM generate_series(1, 200) g;
INSERT INTO rooms (id, name, visibility, created_by, created_at, last_seq)
    SELECT 'r' || g, 'room' || g, 'public', 'u1', now(), 100 FROM generate_series(1, 2000) g;
INSERT INTO memberships (room_id, user_id, role, joined_at, last_read_seq)
    SELECT 'r' || g, 'u' || (g % 200 + 1), 'member', now(), 0 FROM generate_series(1, 2000) g;
INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, envelope, created_at)
    SELECT 'm' || g, 'r' || (g % 2000 + 1), g, 'u1', 'c' || g, '{}', now()
    FROM generate_series(1, 40000) g;
ANALYZE;
"""


@pytest.mark.postgres
async def test_postgres_batch_plan_reads_rows_by_index_only() -> None:
    """The committer plans its statements once (a generic plan): that plan must look each
    row up by an index, never scan a table (which would cost a whole room or table per
    batch as the database grows)."""
    url = await create_temp_database()
    try:
        await upgrade_to_head(url)
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn, server_settings={"plan_cache_mode": "force_generic_plan"})
        try:
            await conn.execute(_BIG_DATABASE)
            for name, statement, arrays in (
                ("append_batch", group_commit_postgres._APPEND_BATCH, 8),
                ("relation_targets", group_commit_postgres._RELATION_TARGETS, 4),
            ):
                types = ["text[]"] * arrays
                if arrays == 8:
                    types[5] = "timestamptz"
                await conn.execute(f"PREPARE {name}({', '.join(types)}) AS {statement}")
                values = ", ".join(
                    "now()" if kind == "timestamptz" else "ARRAY['r1']" for kind in types
                )
                plan = "\n".join(
                    row[0] for row in await conn.fetch(f"EXPLAIN EXECUTE {name}({values})")
                )
                assert "Seq Scan" not in plan, plan
                assert "Index" in plan, plan
        finally:
            await conn.close()
    finally:
        await drop_database(url)


@pytest.mark.postgres
async def test_postgres_committer_makes_its_plans_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = await create_temp_database()
    engine, room, alice = await _fresh_database(url)
    try:
        monkeypatch.setattr(group_commit_postgres, "PLAN_REFRESH_SECONDS", 0.0)
        async with Writer(engine) as writer:
            for seq in (1, 2, 3):  # DISCARD PLANS before the second and third batch
                back = await writer.store.append_message(a_message(room, alice))
                assert stored(back).message.seq == seq
    finally:
        await engine.dispose()
        await drop_database(url)
