"""Blobs on a real database (SQLite file and PostgreSQL) and a real blob directory:
upload limits, attachments in the message's own write, and the cleanup job."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.blob_files import FileBlobStore
from sealchat.adapters.sql.blobs import SqlBlobIndex
from sealchat.adapters.sql.storage import SqlMessageStore, SqlRoomStore, SqlUserStore
from sealchat.adapters.sql.tables import blobs, message_attachments, messages
from sealchat.domain.blobs import QuotaExceeded
from sealchat.domain.errors import InvalidInput, NotFound, PayloadTooLarge
from sealchat.domain.models import NewMessage, Role
from sealchat.services.blobs import BlobService
from sealchat.services.rooms import RoomService
from tests.contract.conftest import RoomFactory, UserFactory, new_id
from tests.fakes import RecordingFanout

MAX_UPLOAD = 4096
QUOTA = 10_000


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


@pytest.fixture
def service(engine: AsyncEngine, store: FileBlobStore) -> BlobService:
    room_store = SqlRoomStore(engine)
    rooms = RoomService(SqlUserStore(engine), room_store, RecordingFanout())
    return BlobService(
        SqlBlobIndex(engine),
        store,
        rooms,
        room_store,
        max_upload_bytes=MAX_UPLOAD,
        quota_bytes=QUOTA,
        orphan_seconds=3600,
    )


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def blob_rows(engine: AsyncEngine) -> int:
    async with engine.begin() as conn:
        return int((await conn.execute(select(func.count()).select_from(blobs))).scalar_one())


def message(room_id: str, sender_id: str) -> NewMessage:
    return NewMessage(
        id=new_id(),
        room_id=room_id,
        sender_id=sender_id,
        client_msg_id=new_id(),
        envelope_json='{"v":1}',
    )


async def test_upload_and_read_back_with_ranges(
    service: BlobService, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    data = os.urandom(3000)
    blob = await service.upload(alice.id, room.id, stream(data[:1000], data[1000:]), None)
    assert blob.size == 3000
    readable = await service.readable(alice.id, blob.id)
    assert b"".join([c async for c in await service.open(readable, 0, 2999)]) == data
    assert b"".join([c async for c in await service.open(readable, 100, 199)]) == data[100:200]


async def test_a_blob_removed_after_the_lookup_is_not_found_at_open(
    service: BlobService, store: FileBlobStore, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    blob = await service.upload(alice.id, room.id, stream(b"z" * 600), None)
    readable = await service.readable(alice.id, blob.id)
    opened = await service.open(readable, 0, 599)
    await store.delete(blob.id)  # an open file still reads whole
    assert b"".join([c async for c in opened]) == b"z" * 600
    with pytest.raises(NotFound):
        await service.open(readable, 0, 599)


async def test_a_non_member_cannot_read_and_cannot_upload(
    service: BlobService, make_user: UserFactory, make_room: RoomFactory
) -> None:
    alice, mallory = await make_user(), await make_user()
    room = await make_room(alice)
    blob = await service.upload(alice.id, room.id, stream(b"x" * 100), 100)
    with pytest.raises(NotFound):
        await service.readable(mallory.id, blob.id)
    with pytest.raises(NotFound):
        await service.readable(alice.id, new_id())
    with pytest.raises(Exception) as caught:
        await service.upload(mallory.id, room.id, stream(b"y"), 1)
    assert getattr(caught.value, "code", None) in ("forbidden", "not_found")


@pytest.mark.parametrize("declared", [True, False])
async def test_over_the_size_limit_nothing_is_kept(
    service: BlobService,
    store: FileBlobStore,
    engine: AsyncEngine,
    tmp_path: Path,
    make_user: UserFactory,
    make_room: RoomFactory,
    declared: bool,
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    big = [b"z" * 1000] * 5
    with pytest.raises(PayloadTooLarge) as caught:
        await service.upload(alice.id, room.id, stream(*big), 5000 if declared else None)
    assert caught.value.code == "payload_too_large"
    assert stored_files(tmp_path / "blobs") == []
    assert await blob_rows(engine) == 0


async def test_over_the_quota_nothing_is_kept(
    service: BlobService,
    engine: AsyncEngine,
    tmp_path: Path,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    for _ in range(2):
        await service.upload(alice.id, room.id, stream(b"q" * 4000), None)
    with pytest.raises(QuotaExceeded) as caught:  # 8000 stored, 3000 more is over 10000
        await service.upload(alice.id, room.id, stream(b"q" * 1000, b"q" * 2000), None)
    assert caught.value.code == "quota_exceeded"
    with pytest.raises(QuotaExceeded):
        await service.upload(alice.id, room.id, stream(b"q"), 3000)
    assert len(stored_files(tmp_path / "blobs")) == 2
    assert await blob_rows(engine) == 2


async def test_attachments_are_stored_with_the_message_and_kept_by_cleanup(
    service: BlobService,
    engine: AsyncEngine,
    messages: SqlMessageStore,
    tmp_path: Path,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    kept = await service.upload(alice.id, room.id, stream(b"k" * 100), None)
    orphan = await service.upload(alice.id, room.id, stream(b"o" * 100), None)
    new = message(room.id, alice.id)
    result = await messages.append_message_with_attachments(new, [kept.id])
    assert result is not None and result.created
    # A resend (same client message id) returns the original and stores nothing twice.
    again = await messages.append_message_with_attachments(
        NewMessage(new_id(), room.id, alice.id, new.client_msg_id, new.envelope_json), [kept.id]
    )
    assert again is not None and not again.created and again.message.id == new.id

    later = datetime.now(UTC) + timedelta(hours=2)
    assert await service.cleanup(now=datetime.now(UTC)) == 0  # nothing is an hour old yet
    assert await service.cleanup(now=later) == 1
    assert await service.readable(alice.id, kept.id)
    with pytest.raises(NotFound):
        await service.readable(alice.id, orphan.id)
    assert len(stored_files(tmp_path / "blobs")) == 1
    # The orphan can no longer be attached.
    with pytest.raises(InvalidInput):
        await messages.append_message_with_attachments(message(room.id, alice.id), [orphan.id])


async def test_attaching_someone_elses_blob_stores_no_message(
    service: BlobService,
    engine: AsyncEngine,
    messages: SqlMessageStore,
    rooms: SqlRoomStore,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice, bob = await make_user(), await make_user()
    room = await make_room(alice)
    other_room = await make_room(alice, "other")
    await rooms.add_member(room.id, bob.id, Role.MEMBER)
    alices = await service.upload(alice.id, room.id, stream(b"a" * 10), None)
    elsewhere = await service.upload(alice.id, other_room.id, stream(b"e" * 10), None)
    for sender, blob_id in ((bob.id, alices.id), (alice.id, elsewhere.id), (alice.id, new_id())):
        with pytest.raises(InvalidInput):
            await messages.append_message_with_attachments(message(room.id, sender), [blob_id])
    async with engine.begin() as conn:
        assert (await conn.execute(select(func.count()).select_from(messages_table))).scalar() == 0
        last_seq = (await conn.execute(select(func.max(messages_table.c.seq)))).scalar()
    assert last_seq is None
    assert (await rooms.get_room(room.id)).last_seq == 0  # type: ignore[union-attr]


async def test_blobs_of_deleted_messages_are_removed(
    service: BlobService,
    engine: AsyncEngine,
    messages: SqlMessageStore,
    tmp_path: Path,
    make_user: UserFactory,
    make_room: RoomFactory,
) -> None:
    alice = await make_user()
    room = await make_room(alice)
    first = await service.upload(alice.id, room.id, stream(b"1" * 10), None)
    second = await service.upload(alice.id, room.id, stream(b"2" * 10), None)
    one = message(room.id, alice.id)
    two = message(room.id, alice.id)
    await messages.append_message_with_attachments(one, [first.id])
    await messages.append_message_with_attachments(two, [second.id])
    # A tombstone keeps the row: the deletion says so explicitly.
    await service.forget_messages([one.id])
    # A hard delete of the row cascades to its attachments.
    async with engine.begin() as conn:
        await conn.execute(messages_table.delete().where(messages_table.c.id == two.id))
        left = (await conn.execute(select(func.count()).select_from(message_attachments))).scalar()
    assert left == 0
    assert await service.cleanup() == 2
    assert stored_files(tmp_path / "blobs") == []
    assert await blob_rows(engine) == 0


messages_table = messages
