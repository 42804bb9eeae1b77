"""Deleting what the retention rules say is old: messages per room, expired refresh tokens.

Messages go in short transactions of at most ``batch`` rows, by seq range on the
``(room_id, seq)`` index, so the group-commit writer is never held up for long. On SQLite
the engine's connections delete with ``secure_delete`` (engine.py), and a checkpoint
afterwards moves the zeroed pages out of the WAL: the envelope bytes are gone from the
files. PostgreSQL keeps dead rows until (auto)VACUUM reclaims them.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import idp_refresh_tokens, messages, rooms


class SqlRetention:
    def __init__(self, engine: AsyncEngine, batch: int = 1000) -> None:
        self._engine = engine
        self._batch = batch

    async def rooms_to_trim(self, default_days: float) -> list[tuple[str, float]]:
        """(room id, days) of every room whose messages expire."""
        days = func.coalesce(rooms.c.retention_days, default_days)
        query = select(rooms.c.id, days).where(days > 0)
        async with database_errors(), self._engine.connect() as conn:
            return [(row[0], float(row[1])) for row in await conn.execute(query)]

    async def trim_room(self, room_id: str, days: float, now: datetime) -> int:
        """Delete the room's messages older than ``days``; returns how many."""
        cutoff = now - timedelta(days=days)
        deleted = 0
        while True:
            oldest = (
                select(messages.c.seq)
                .where(messages.c.room_id == room_id, messages.c.created_at < cutoff)
                .order_by(messages.c.seq)
                .limit(self._batch)
                .subquery()
            )
            async with database_errors(), self._engine.begin() as conn:
                upto = await conn.scalar(select(func.max(oldest.c.seq)))
                if upto is None:
                    return deleted
                result = await conn.execute(
                    delete(messages).where(messages.c.room_id == room_id, messages.c.seq <= upto)
                )
            deleted += int(result.rowcount or 0)

    async def purge_refresh_tokens(self, now: datetime) -> int:
        """Refresh tokens past their expiry (used, revoked or not): useless to anyone."""
        async with database_errors(), self._engine.begin() as conn:
            result = await conn.execute(
                delete(idp_refresh_tokens).where(idp_refresh_tokens.c.expires_at < now)
            )
        return int(result.rowcount or 0)

    async def release_deleted_pages(self) -> None:
        """SQLite: write the WAL back into the file and truncate it."""
        if self._engine.dialect.name != "sqlite":
            return
        async with database_errors(), self._engine.connect() as conn:
            await conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
