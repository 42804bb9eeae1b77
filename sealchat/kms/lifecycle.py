"""Key lifecycle from the command line, on the local key store beside a running service:
disable and enable a master key, rotate the root key, export the audit log."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import select

from sealchat.kms.audit import audit_record, utc_now
from sealchat.kms.blob import check_key_id
from sealchat.kms.models import Actor, AuditEntry, AuditRecord, Operation
from sealchat.kms.root_rotation import rotate_root
from sealchat.kms.runtime import open_kms_engine, unlock_root_key
from sealchat.kms.store import KeyStore
from sealchat.kms.tables import kms_audit
from sealchat.settings import Settings

PAGE = 1000


async def set_key_enabled(settings: Settings, actor: Actor, key_id: str, enabled: bool) -> None:
    """Takes effect at the next request of every running key service (no cache)."""
    now = utc_now()
    audit = AuditEntry(
        at=now,
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        operation=Operation.ENABLE_KEY if enabled else Operation.DISABLE_KEY,
        key_id=key_id,
        key_version=None,
        encryption_context=None,
        allowed=True,
    )
    async with open_kms_engine(settings) as engine:
        await KeyStore(engine).set_disabled(check_key_id(key_id), None if enabled else now, audit)


async def rotate_root_key(settings: Settings, actor: Actor) -> int:
    """Re-wrap every master key version under a new root key; returns how many."""
    async with open_kms_engine(settings) as engine:
        store = KeyStore(engine)
        old = await unlock_root_key(settings, store)
        return await rotate_root(store, old, settings.resolved_kms_root_key_file(), actor)


def audit_json(record: AuditRecord) -> str:
    entry: dict[str, Any] = {"id": record.id, **asdict(record.entry)}
    entry["at"] = record.entry.at.isoformat()
    entry["operation"] = record.entry.operation.value
    return json.dumps(entry, ensure_ascii=False, sort_keys=True)


async def export_audit(
    settings: Settings, write: Callable[[str], object], since: datetime | None = None
) -> int:
    """Every audit record (from ``since``), oldest first, one JSON object per line."""
    written, after = 0, 0
    async with open_kms_engine(settings) as engine:
        while True:
            query = select(kms_audit).where(kms_audit.c.id > after)
            if since is not None:
                query = query.where(kms_audit.c.at >= since)
            async with engine.connect() as conn:
                rows = (await conn.execute(query.order_by(kms_audit.c.id).limit(PAGE))).all()
            if not rows:
                return written
            for row in rows:
                write(audit_json(audit_record(row)) + "\n")
            written += len(rows)
            after = rows[-1].id
