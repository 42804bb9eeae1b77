"""The key store and audit log on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.kms.audit import AuditLog
from sealchat.kms.errors import KeyExists, KeyNotFound
from sealchat.kms.models import AuditEntry, MasterKey, Operation
from sealchat.kms.store import KeyStore, create_schema
from sealchat.kms.tables import kms_audit, kms_meta
from tests.pg_support import temp_database

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'kms.db'}")
        await create_schema(engine)
        yield engine
        await engine.dispose()
        return
    async with temp_database() as url:
        engine = create_engine(url)
        await create_schema(engine)
        yield engine
        await engine.dispose()


def entry(operation: Operation, key_id: str = "k", **changes: object) -> AuditEntry:
    base = AuditEntry(
        at=NOW,
        actor_user_id="user-1",
        actor_username="alice",
        operation=operation,
        key_id=key_id,
        key_version=None,
        encryption_context=None,
        allowed=True,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def audit_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(kms_audit))).scalar_one())


async def test_schema_creation_is_repeatable_and_versioned(engine: AsyncEngine) -> None:
    await create_schema(engine)
    async with engine.connect() as conn:
        rows = (await conn.execute(select(kms_meta))).all()
    assert [(row.name, row.value) for row in rows] == [("schema_version", "1")]


async def test_keys_and_versions(engine: AsyncEngine) -> None:
    store = KeyStore(engine)
    assert await store.some_wrapped_version() is None
    key = MasterKey("k", "a key", NOW, current_version=1)
    await store.create_key(key, b"wrapped-1", entry(Operation.CREATE_KEY))
    assert await store.some_wrapped_version() == ("k", 1, b"wrapped-1")
    with pytest.raises(KeyExists):
        await store.create_key(key, b"other", entry(Operation.CREATE_KEY))
    later = NOW + timedelta(days=1)
    version = await store.add_version(
        "k", lambda v: f"wrapped-{v}".encode(), later, entry(Operation.ROTATE_KEY)
    )
    assert version == 2
    assert await store.current_wrapped("k") == (2, b"wrapped-2")
    assert await store.wrapped("k", 1) == b"wrapped-1"
    assert await store.wrapped("k", 3) is None
    assert await store.current_wrapped("nope") is None
    described = await store.describe_key("k")
    assert described is not None
    assert described.current_version == 2
    assert [(v.version, v.created_at) for v in described.versions] == [(1, NOW), (2, later)]
    assert [k.key_id for k in await store.list_keys()] == ["k"]
    assert await store.describe_key("nope") is None


async def test_changes_are_audited_in_their_transaction(engine: AsyncEngine) -> None:
    store = KeyStore(engine)
    key = MasterKey("k", "", NOW, current_version=1)
    await store.create_key(key, b"w", entry(Operation.CREATE_KEY))
    await store.add_version("k", lambda v: b"w", NOW, entry(Operation.ROTATE_KEY))
    assert await audit_count(engine) == 2
    # Failed changes leave no trace: neither a row nor an "allowed" entry.
    with pytest.raises(KeyExists):
        await store.create_key(key, b"w", entry(Operation.CREATE_KEY))
    with pytest.raises(KeyNotFound):
        await store.add_version("nope", lambda v: b"w", NOW, entry(Operation.ROTATE_KEY))
    assert await audit_count(engine) == 2
    records = await AuditLog(engine).read(10)
    assert [(r.entry.operation, r.entry.key_version) for r in records] == [
        (Operation.ROTATE_KEY, 2),
        (Operation.CREATE_KEY, 1),
    ]


async def test_concurrent_rotations_get_distinct_versions(engine: AsyncEngine) -> None:
    store = KeyStore(engine)
    await store.create_key(MasterKey("k", "", NOW, 1), b"w", entry(Operation.CREATE_KEY))
    versions = await asyncio.gather(
        *(
            store.add_version("k", lambda v: b"w", NOW, entry(Operation.ROTATE_KEY))
            for _ in range(5)
        )
    )
    assert sorted(versions) == [2, 3, 4, 5, 6]
    assert await store.current_wrapped("k") == (6, b"w")


async def test_the_first_root_check_recorded_wins(engine: AsyncEngine) -> None:
    store = KeyStore(engine)
    assert await store.root_check() is None
    assert await store.remember_root_check("first") == "first"
    assert await store.remember_root_check("second") == "first"
    assert await store.root_check() == "first"


async def test_audit_log_reads_newest_first_with_filters(engine: AsyncEngine) -> None:
    log = AuditLog(engine)
    context = {"room_id": "room-1", "purpose": "message"}
    await log.append(entry(Operation.GENERATE_DATA_KEY, encryption_context=context, key_version=1))
    await log.append(
        entry(Operation.DECRYPT, actor_user_id="user-2", allowed=False, reason="no grant")
    )
    await log.append(entry(Operation.DECRYPT, source="10.0.0.1"))
    newest, middle, oldest = await log.read(10)
    assert newest.entry.source == "10.0.0.1"
    assert middle.entry.allowed is False and middle.entry.reason == "no grant"
    assert oldest.entry.encryption_context == context
    assert oldest.entry.at == NOW
    assert [r.id for r in await log.read(1, before_id=newest.id)] == [middle.id]
    assert [r.id for r in await log.read(10, user_id="user-2")] == [middle.id]
    assert [r.id for r in await log.read(10, denied_only=True)] == [middle.id]
