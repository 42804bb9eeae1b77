"""The key service's audit retention: records older than N days are deleted, in batches."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat import metrics
from sealchat.adapters.sql.errors import database_errors
from sealchat.domain.errors import SealchatError
from sealchat.kms.tables import kms_audit

log = logging.getLogger(__name__)

BATCH = 5000


async def purge_audit(engine: AsyncEngine, older_than: datetime) -> int:
    """Delete audit records from before ``older_than``; returns how many."""
    deleted = 0
    while True:
        oldest = select(kms_audit.c.id).where(kms_audit.c.at < older_than).limit(BATCH)
        async with database_errors(), engine.begin() as conn:
            ids = list((await conn.execute(oldest)).scalars())
            if not ids:
                return deleted
            await conn.execute(delete(kms_audit).where(kms_audit.c.id.in_(ids)))
        deleted += len(ids)


async def run_audit_retention(engine: AsyncEngine, days: float, interval: float) -> None:
    """Until cancelled: a pass now, then every ``interval`` seconds."""
    while True:
        try:
            cutoff = datetime.now(UTC) - timedelta(days=days)
            deleted = await purge_audit(engine, cutoff)
            metrics.RETENTION_DELETED.labels("kms_audit").inc(deleted)
            log.info(
                "retention: %d key-service audit records older than %g days deleted", deleted, days
            )
        except SealchatError as exc:
            log.warning("retention: audit pass failed, retrying later: %s", exc.message)
        except Exception:  # never let the job die
            log.exception("retention: audit pass failed")
        await asyncio.sleep(interval)
