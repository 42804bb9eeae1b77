"""The blob index: blob metadata and message attachments on SQLAlchemy Core."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import RowMapping, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import blobs, message_attachments
from sealchat.domain.blobs import Blob
from sealchat.domain.errors import InvalidInput


class SqlBlobIndex:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_blob(self, blob: Blob) -> None:
        row = {
            "id": blob.id,
            "room_id": blob.room_id,
            "uploader_id": blob.uploader_id,
            "size": blob.size,
            "created_at": blob.created_at,
        }
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(insert(blobs).values(**row))

    async def complete_blob(self, blob: Blob, size: int, quota: int, at: datetime) -> bool:
        blob_id = blob.id
        others = (
            select(func.coalesce(func.sum(blobs.c.size), 0))
            .where(blobs.c.uploader_id == blob.uploader_id, blobs.c.id != blob_id)
            .scalar_subquery()
        )
        query = (
            update(blobs)
            .where(blobs.c.id == blob_id, others + size <= quota)
            .values(size=size, stored_at=at)
        )
        async with database_errors(), self._engine.begin() as conn:
            return (await conn.execute(query)).rowcount == 1

    async def delete_blob(self, blob_id: str) -> None:
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(delete(blobs).where(blobs.c.id == blob_id))

    async def get_blob(self, blob_id: str) -> Blob | None:
        async with database_errors(), self._engine.begin() as conn:
            row = (await conn.execute(select(blobs).where(blobs.c.id == blob_id))).mappings()
            found = row.first()
        return None if found is None else _blob(found)

    async def usage(self, uploader_id: str) -> int:
        query = select(func.coalesce(func.sum(blobs.c.size), 0)).where(
            blobs.c.uploader_id == uploader_id
        )
        async with database_errors(), self._engine.begin() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def take_removable(self, orphaned_before: datetime, limit: int) -> list[str]:
        named = exists().where(message_attachments.c.blob_id == blobs.c.id)
        removable = or_(
            and_(blobs.c.referenced_at.is_(None), blobs.c.created_at < orphaned_before),
            and_(blobs.c.referenced_at.is_not(None), ~named),
        )
        async with database_errors(), self._engine.begin() as conn:
            ids = list(
                (await conn.execute(select(blobs.c.id).where(removable).limit(limit))).scalars()
            )
            if not ids:
                return []
            # Deleting under the same condition: a blob attached meanwhile stays.
            gone = await conn.execute(
                delete(blobs).where(blobs.c.id.in_(ids), removable).returning(blobs.c.id)
            )
            return [str(blob_id) for blob_id in gone.scalars()]

    async def detach_messages(self, message_ids: list[str]) -> None:
        if not message_ids:
            return
        query = delete(message_attachments).where(message_attachments.c.message_id.in_(message_ids))
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(query)


async def attach_blobs(
    conn: AsyncConnection,
    *,
    message_id: str,
    room_id: str,
    sender_id: str,
    blob_ids: list[str],
    at: datetime,
) -> None:
    """Inside the transaction storing a message: mark its blobs referenced and record
    them as the message's. Only the sender's own stored blobs of that room qualify;
    any other id raises ``InvalidInput`` (the caller rolls the message back)."""
    wanted = sorted(set(blob_ids))
    marked = await conn.execute(
        update(blobs)
        .where(
            blobs.c.id.in_(wanted),
            blobs.c.room_id == room_id,
            blobs.c.uploader_id == sender_id,
            blobs.c.stored_at.is_not(None),
        )
        .values(referenced_at=func.coalesce(blobs.c.referenced_at, at))
        .returning(blobs.c.id)
    )
    found = {str(blob_id) for blob_id in marked.scalars()}
    missing = [blob_id for blob_id in wanted if blob_id not in found]
    if missing:
        raise InvalidInput(
            f"attachment {missing[0]} is not a blob you uploaded to this room "
            "(or it was removed: unused blobs are removed after an hour)"
        )
    await conn.execute(
        insert(message_attachments),
        [{"message_id": message_id, "blob_id": blob_id} for blob_id in wanted],
    )


def _blob(row: RowMapping) -> Blob:
    return Blob(
        id=row["id"],
        room_id=row["room_id"],
        uploader_id=row["uploader_id"],
        size=int(row["size"]),
        created_at=row["created_at"],
        stored_at=row["stored_at"],
        referenced_at=row["referenced_at"],
    )
