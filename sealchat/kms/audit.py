"""The audit log of key use (table ``kms_audit``): every operation and every refusal.

Refusals are bounded per caller so that junk requests cannot flood the table: each
address (anonymous callers) or user has a budget of refusal rows (a token bucket); past
it, refusals, and those of the rate limit itself, are counted in memory and written as
one ``suppressed-refusals`` row per address or user and interval, with the count, the
operations and the first and last time. No refusal goes unrecorded; only the itemization
is bounded.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.domain.errors import RateLimited, SealchatError, Unavailable
from sealchat.kms.blob import canonical_context
from sealchat.kms.models import Actor, AuditEntry, AuditRecord, EncryptionContext, Operation
from sealchat.kms.tables import kms_audit
from sealchat.services.rate_limit import TokenBucketLimiter

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 500
# Callers (addresses or users) with refusals waiting to be summarized, at most; beyond,
# their refusals are counted together under one key.
MAX_SUPPRESSED_KEYS = 10_000
OVERFLOW_KEY = "overflow"


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


@dataclass
class Suppressed:
    """Refusals of one address or user not written one by one, waiting for their summary."""

    first_at: datetime
    last_at: datetime
    since: float  # monotonic time of the first one
    actor_user_id: str | None
    actor_username: str | None
    source: str | None
    count: int = 0
    rate_limited: int = 0
    operations: Counter[str] = field(default_factory=Counter)

    def add(self, entry: AuditEntry, *, rate_limited: bool) -> None:
        self.count += 1
        self.rate_limited += int(rate_limited)
        self.operations[entry.operation.value] += 1
        self.last_at = entry.at
        self.source = entry.source or self.source

    def merge(self, later: Suppressed) -> None:
        self.count += later.count
        self.rate_limited += later.rate_limited
        self.operations.update(later.operations)
        self.last_at = later.last_at
        self.source = later.source or self.source

    def summary(self, at: datetime) -> AuditEntry:
        operations = ", ".join(f"{name} {n}" for name, n in self.operations.most_common())
        limited = f"; {self.rate_limited} of them by the rate limit" if self.rate_limited else ""
        when = f"{self.first_at:%Y-%m-%d %H:%M:%S} to {self.last_at:%H:%M:%S} UTC"
        return AuditEntry(
            at=at,
            actor_user_id=self.actor_user_id,
            actor_username=self.actor_username,
            operation=Operation.SUPPRESSED_REFUSALS,
            key_id=None,
            key_version=None,
            encryption_context=None,
            allowed=False,
            reason=(
                f"{self.count} refusals not written one by one (over the audit budget), "
                f"{when}: {operations}{limited}"
            ),
            source=self.source,
        )


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


def budget_key(entry: AuditEntry) -> str | None:
    """Whose refusal budget an entry draws from: the user's, else the address's; none for
    local actors (the administrator's CLI, the key service itself, in-process callers)."""
    if entry.actor_user_id:
        return f"user:{entry.actor_user_id}"
    if entry.source:
        return f"address:{entry.source}"
    return None


class AuditLog:
    def __init__(
        self,
        engine: AsyncEngine,
        clock: Callable[[], datetime] = utc_now,
        *,
        refusal_budget: TokenBucketLimiter | None = None,
        summary_seconds: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """Without ``refusal_budget`` every refusal is written one by one."""
        self._engine = engine
        self._clock = clock
        self._budget = refusal_budget
        self._summary_seconds = summary_seconds
        self._monotonic = monotonic
        self._suppressed: dict[str, Suppressed] = {}

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
        refused = replace(entry, allowed=False, reason=exc.message)
        key = budget_key(entry) if self._budget is not None else None
        rate_limited = isinstance(exc, RateLimited)
        if key is not None and (rate_limited or not self._admit(key)):
            # Counted, not itemized: the refusal is in the next summary row.
            log.debug("key service refused %s to %s: %s", entry.operation, key, exc.code)
            self._count(key, refused, rate_limited=rate_limited)
            return
        actor = entry.actor_user_id or "an anonymous caller"
        log.info("key service refused %s to %s: %s", entry.operation, actor, exc.code)
        if key is not None:
            await self._write_summary(key)  # what was counted before this one, first
        await self.append(refused)

    def _admit(self, key: str) -> bool:
        assert self._budget is not None
        try:
            self._budget.check(key)
        except RateLimited:
            return False
        return True

    def _count(self, key: str, entry: AuditEntry, *, rate_limited: bool) -> None:
        if key not in self._suppressed and len(self._suppressed) >= MAX_SUPPRESSED_KEYS:
            key = OVERFLOW_KEY
        pending = self._suppressed.get(key)
        if pending is None:
            overflow = key == OVERFLOW_KEY
            pending = self._suppressed[key] = Suppressed(
                first_at=entry.at,
                last_at=entry.at,
                since=self._monotonic(),
                actor_user_id=None if overflow else entry.actor_user_id,
                actor_username=None if overflow else entry.actor_username,
                source=None if overflow else entry.source,
            )
        pending.add(entry, rate_limited=rate_limited)

    @property
    def suppressed_count(self) -> int:
        """Refusals counted and not yet written in a summary row."""
        return sum(pending.count for pending in self._suppressed.values())

    async def flush_suppressed(self, *, force: bool = False) -> None:
        """Write a summary row for every address or user whose oldest counted refusal is
        older than the summary interval (every one with ``force``, e.g. at shutdown)."""
        now = self._monotonic()
        for key, pending in list(self._suppressed.items()):
            if force or now - pending.since >= self._summary_seconds:
                await self._write_summary(key)

    async def _write_summary(self, key: str) -> None:
        pending = self._suppressed.pop(key, None)
        if pending is None:
            return
        try:
            await self.append(pending.summary(self._clock()))
        except Unavailable:
            newer = self._suppressed.get(key)  # counted while the write was under way
            if newer is not None:
                pending.merge(newer)
            self._suppressed[key] = pending  # written next time
            raise

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


def audit_record(row: Any) -> AuditRecord:
    """An audit row as a record (for exports)."""
    return _record(row)
