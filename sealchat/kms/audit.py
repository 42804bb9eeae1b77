"""The audit log of key use (table ``kms_audit``): every operation and every refusal."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.domain.errors import SealchatError, Unavailable
from sealchat.kms.blob import canonical_context
from sealchat.kms.models import Actor, AuditEntry, AuditRecord, EncryptionContext, Operation
from sealchat.kms.tables import kms_audit

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AuditDraft:
    """The entry of an operation in progress: key id and version are learnt on the way.

    Set ``written`` when the operation writes the entry in its own transaction.
    """

    entry: AuditEntry
    written: bool = False

    def learn(self, key_id: str, key_version: int | None) -> None:
        self.entry = replace(self.entry, key_id=key_id, key_version=key_version)


def _clip(text: str | None, limit: int) -> str | None:
    return None if text is None else text[:limit]


def _values(entry: AuditEntry) -> dict[str, Any]:
    context = entry.encryption_context
    return {
        "at": entry.at,
        "actor_user_id": _clip(entry.actor_user_id, 128),
        "actor_username": _clip(entry.actor_username, 128),
        "operation": entry.operation.value,
        "key_id": _clip(entry.key_id, 128),
        "key_version": entry.key_version,
        "encryption_context": None if context is None else canonical_context(context).decode(),
        "allowed": entry.allowed,
        "reason": _clip(entry.reason, MAX_REASON_CHARS),
        "source": _clip(entry.source, 64),
    }


async def insert_audit(conn: AsyncConnection, entry: AuditEntry) -> None:
    """Write ``entry`` in the caller's transaction (for changes audited atomically)."""
    await conn.execute(kms_audit.insert().values(**_values(entry)))


class AuditLog:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    async def append(self, entry: AuditEntry) -> None:
        """Write ``entry``; raises ``Unavailable`` when it cannot be written."""
        async with database_errors(), self._engine.begin() as conn:
            await insert_audit(conn, entry)

    @asynccontextmanager
    async def operation(
        self,
        actor: Actor,
        operation: Operation,
        key_id: str | None,
        context: EncryptionContext | None,
    ) -> AsyncIterator[AuditDraft]:
        """Audit the block: allowed when it returns, refused (with the reason) when it
        raises a domain error. The entry is written before the caller gets an answer."""
        draft = AuditDraft(self._entry(actor, operation, key_id, context))
        try:
            yield draft
        except Unavailable:
            raise  # nothing was decided, and an entry could not be written anyway
        except SealchatError as exc:
            await self._refused(draft.entry, exc)
            raise
        if not draft.written:
            await self.append(draft.entry)

    async def refusal(
        self,
        actor: Actor,
        operation: Operation,
        key_id: str | None,
        context: EncryptionContext | None,
        exc: SealchatError,
    ) -> None:
        """Record that ``actor`` was refused ``operation`` because of ``exc``."""
        await self._refused(self._entry(actor, operation, key_id, context), exc)

    async def _refused(self, entry: AuditEntry, exc: SealchatError) -> None:
        actor = entry.actor_user_id or "an anonymous caller"
        log.info("key service refused %s to %s: %s", entry.operation, actor, exc.code)
        await self.append(replace(entry, allowed=False, reason=exc.message))

    def _entry(
        self,
        actor: Actor,
        operation: Operation,
        key_id: str | None,
        context: EncryptionContext | None,
    ) -> AuditEntry:
        return AuditEntry(
            at=self._clock(),
            actor_user_id=actor.user_id,
            actor_username=actor.username or None,
            operation=operation,
            key_id=key_id,
            key_version=None,
            encryption_context=context,
            allowed=True,
            source=actor.source,
        )

    async def read(
        self,
        limit: int = 50,
        *,
        before_id: int | None = None,
        user_id: str | None = None,
        denied_only: bool = False,
    ) -> list[AuditRecord]:
        """The newest entries first, at most ``limit``; page on with ``before_id``."""
        query = select(kms_audit).order_by(kms_audit.c.id.desc()).limit(max(1, limit))
        if before_id is not None:
            query = query.where(kms_audit.c.id < before_id)
        if user_id is not None:
            query = query.where(kms_audit.c.actor_user_id == user_id)
        if denied_only:
            query = query.where(kms_audit.c.allowed.is_(False))
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_record(row) for row in rows]


def _record(row: Any) -> AuditRecord:
    context = row.encryption_context
    return AuditRecord(
        id=row.id,
        entry=AuditEntry(
            at=row.at,
            actor_user_id=row.actor_user_id,
            actor_username=row.actor_username,
            operation=Operation(row.operation),
            key_id=row.key_id,
            key_version=row.key_version,
            encryption_context=None if context is None else json.loads(context),
            allowed=bool(row.allowed),
            reason=row.reason,
            source=row.source,
        ),
    )
