"""The revocation outbox (table ``revocation_outbox``) on SQLAlchemy Core."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import revocation_outbox as outbox
from sealchat.ports.key_access import PendingRevocation

MAX_ERROR_CHARS = 500


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _pending(row: Any) -> PendingRevocation:
    return PendingRevocation(
        id=int(row.id),
        user_id=row.user_id,
        room_id=row.room_id,
        revoked_at_ms=int(row.revoked_at_ms),
        attempts=int(row.attempts),
    )


class SqlRevocationOutbox:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = _utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def add(
        self, user_id: str, room_id: str, revoked_at_ms: int, next_attempt_at: datetime
    ) -> PendingRevocation:
        values = {
            "user_id": user_id,
            "room_id": room_id,
            "revoked_at_ms": revoked_at_ms,
            "created_at": self._clock(),
            "attempts": 0,
            "next_attempt_at": next_attempt_at,
        }
        async with database_errors(), self._engine.begin() as conn:
            result = await conn.execute(outbox.insert().values(**values))
            (entry_id,) = result.inserted_primary_key or (None,)
        assert entry_id is not None
        return PendingRevocation(int(entry_id), user_id, room_id, revoked_at_ms, 0)

    async def due(self, until: datetime | None, limit: int) -> list[PendingRevocation]:
        query = select(outbox).order_by(outbox.c.id).limit(limit)
        if until is not None:
            query = query.where(outbox.c.next_attempt_at <= until)
        async with database_errors(), self._engine.connect() as conn:
            return [_pending(row) for row in (await conn.execute(query)).all()]

    async def next_attempt_at(self) -> datetime | None:
        # Not min(): an aggregate would skip the column type's UTC conversion.
        query = select(outbox.c.next_attempt_at).order_by(outbox.c.next_attempt_at).limit(1)
        async with database_errors(), self._engine.connect() as conn:
            value: datetime | None = (await conn.execute(query)).scalar_one_or_none()
        return value

    async def delivered(self, entry_id: int) -> None:
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(delete(outbox).where(outbox.c.id == entry_id))

    async def failed(self, entry_id: int, next_attempt_at: datetime, error: str) -> None:
        statement = (
            update(outbox)
            .where(outbox.c.id == entry_id)
            .values(
                attempts=outbox.c.attempts + 1,
                next_attempt_at=next_attempt_at,
                last_error=error[:MAX_ERROR_CHARS],
            )
        )
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(statement)

    async def pending(self) -> list[PendingRevocation]:
        return await self.due(None, 10_000)
