"""Revoked room access: the chat server says "this user left that room at T", and grants
issued before T stop working at once instead of at their expiry.

A notice is signed with the chat server's grant key, so it can only ever take access
away: whoever can forge one could already forge grants.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.dialect import insert_unless_exists
from sealchat.adapters.sql.errors import database_errors
from sealchat.kms.audit import insert_audit
from sealchat.kms.models import AuditEntry
from sealchat.kms.tables import kms_revocations

revocations = kms_revocations


class RevocationStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(
        self, user_id: str, room_id: str, revoked_at_ms: int, audit: AuditEntry
    ) -> None:
        """Remember the latest revocation for (user, room), with its audit entry."""
        async with database_errors(), self._engine.begin() as conn:
            key = {"user_id": user_id, "room_id": room_id}
            await insert_unless_exists(
                conn,
                revocations,
                {**key, "revoked_at_ms": revoked_at_ms},
                [revocations.c.user_id, revocations.c.room_id],
            )
            await conn.execute(
                update(revocations)
                .where(revocations.c.user_id == user_id)
                .where(revocations.c.room_id == room_id)
                .where(revocations.c.revoked_at_ms < revoked_at_ms)
                .values(revoked_at_ms=revoked_at_ms)
            )
            await insert_audit(conn, audit)

    async def revoked_at_ms(self, user_id: str, room_id: str) -> int | None:
        async with database_errors(), self._engine.connect() as conn:
            query = (
                select(revocations.c.revoked_at_ms)
                .where(revocations.c.user_id == user_id)
                .where(revocations.c.room_id == room_id)
            )
            value = (await conn.execute(query)).scalar_one_or_none()
            return None if value is None else int(value)
