"""Key lifecycle on the key store (SQLite and PostgreSQL): disabled keys, root rotation
with a running keyring switching by itself, the schema upgrade of older stores, audit
retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.kms.audit_retention import purge_audit
from sealchat.kms.crypto import KmsKeyring
from sealchat.kms.errors import KeyDisabled, RootKeyError
from sealchat.kms.models import Actor, Operation
from sealchat.kms.root_key import load_root_key
from sealchat.kms.root_rotation import candidate_root_keys, rotate_root
from sealchat.kms.store import KeyStore, create_schema
from sealchat.kms.tables import kms_audit
from tests.unit.test_kms_store import engine, entry

__all__ = ["engine"]

CONTEXT = {"room_id": "room-1"}
ADMIN = Actor(user_id=None, username="local:test", local=True)


async def keyring(engine: AsyncEngine, tmp_path: Path) -> tuple[KeyStore, KmsKeyring, Path]:
    store = KeyStore(engine)
    path = tmp_path / "root.key"
    root = load_root_key(path, expected_check=None, store_is_empty=True)
    await store.remember_root_check(root.check_value)
    ring = KmsKeyring(store, root, reload_root=lambda: candidate_root_keys(path))
    await ring.create_key("k", "", entry(Operation.CREATE_KEY))
    return store, ring, path


async def test_a_disabled_key_neither_makes_nor_opens_data_keys(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store, ring, _ = await keyring(engine, tmp_path)
    made = await ring.generate_data_key("k", CONTEXT)
    await store.set_disabled("k", datetime.now(UTC), entry(Operation.DISABLE_KEY))
    with pytest.raises(KeyDisabled):
        await ring.generate_data_key("k", CONTEXT)
    with pytest.raises(KeyDisabled):
        await ring.decrypt(made.ciphertext_blob, CONTEXT)
    assert (await store.list_keys())[0].disabled_at is not None
    await store.set_disabled("k", None, entry(Operation.ENABLE_KEY))
    assert (await ring.decrypt(made.ciphertext_blob, CONTEXT)).plaintext == made.plaintext


async def test_root_rotation_rewraps_everything_and_a_running_keyring_follows(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    store, running, path = await keyring(engine, tmp_path)
    await running.rotate_key("k", entry(Operation.ROTATE_KEY))
    before = await running.generate_data_key("k", CONTEXT)
    old = load_root_key(path, expected_check=await store.root_check(), store_is_empty=False)

    assert await rotate_root(store, old, path, ADMIN) == 2
    with pytest.raises(RootKeyError):  # the old key opens nothing any more
        load_root_key(
            path.with_name("root.key.previous"),
            expected_check=await store.root_check(),
            store_is_empty=False,
        )
    # The keyring still holds the old root key: it re-reads the files and carries on.
    assert (await running.decrypt(before.ciphertext_blob, CONTEXT)).plaintext == before.plaintext
    await running.rotate_key("k", entry(Operation.ROTATE_KEY))  # wrapped with the new key
    fresh = KmsKeyring(
        store, load_root_key(path, expected_check=await store.root_check(), store_is_empty=False)
    )
    after = await fresh.generate_data_key("k", CONTEXT)
    assert after.key_version == 3
    assert (await fresh.decrypt(before.ciphertext_blob, CONTEXT)).plaintext == before.plaintext


async def test_an_older_store_gets_the_new_column(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")
    try:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "CREATE TABLE kms_keys (key_id VARCHAR(128) PRIMARY KEY, description TEXT "
                    "NOT NULL, created_at DATETIME NOT NULL, current_version INTEGER NOT NULL)"
                )
            )
        await create_schema(engine)
        assert await KeyStore(engine).list_keys() == []
    finally:
        await engine.dispose()


async def test_audit_retention_deletes_only_older_records(engine: AsyncEngine) -> None:
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        for days in (40, 35, 1):
            await conn.execute(
                kms_audit.insert().values(
                    at=now - timedelta(days=days), operation="decrypt", allowed=True
                )
            )
    assert await purge_audit(engine, now - timedelta(days=30)) == 2
    async with engine.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(kms_audit)) == 1
