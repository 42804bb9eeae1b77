"""SQL storage of the key service: master keys (wrapped only) and its own metadata.

Each public method is one transaction; changes are written with their audit entry in
the same transaction, so no change is ever unaudited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import inspect, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.dialect import insert_unless_exists
from sealchat.adapters.sql.errors import database_errors
from sealchat.kms.audit import insert_audit
from sealchat.kms.errors import KeyDisabled, KeyExists, KeyNotFound
from sealchat.kms.models import AuditEntry, KeyVersion, MasterKey
from sealchat.kms.tables import SCHEMA_VERSION, kms_key_versions, kms_keys, kms_meta, metadata

ROOT_CHECK = "root_key_check"
SCHEMA = "schema_version"

keys, versions, meta = kms_keys, kms_key_versions, kms_meta


async def create_schema(engine: AsyncEngine) -> None:
    """Create the tables that are missing and record the schema version."""
    async with database_errors(), engine.begin() as conn:
        await conn.run_sync(metadata.create_all, checkfirst=True)
        await conn.run_sync(_add_missing_columns)
        await insert_unless_exists(
            conn, meta, {"name": SCHEMA, "value": SCHEMA_VERSION}, [meta.c.name]
        )


def _add_missing_columns(conn: Connection) -> None:
    """Columns added since a store was created (kms_keys.disabled_at)."""
    present = {column["name"] for column in inspect(conn).get_columns("kms_keys")}
    if "disabled_at" not in present:
        column_type = keys.c.disabled_at.type.compile(dialect=conn.dialect)
        conn.execute(text(f"ALTER TABLE kms_keys ADD COLUMN disabled_at {column_type}"))


class KeyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def root_check(self) -> str | None:
        """The check value of the root key that wraps the stored keys, if one was recorded."""
        query = select(meta.c.value).where(meta.c.name == ROOT_CHECK)
        async with database_errors(), self._engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one_or_none()
        return None if value is None else str(value)

    async def some_wrapped_version(self) -> tuple[str, int, bytes] | None:
        """Any one stored version (key id, version, wrapped material), or None if empty."""
        query = select(versions.c.key_id, versions.c.version, versions.c.wrapped_material)
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query.limit(1))).one_or_none()
        return None if row is None else (row.key_id, int(row.version), bytes(row.wrapped_material))

    async def remember_root_check(self, check: str) -> str:
        """Record ``check`` unless a value is recorded already; return the recorded value."""
        async with database_errors(), self._engine.begin() as conn:
            values = {"name": ROOT_CHECK, "value": check}
            await insert_unless_exists(conn, meta, values, [meta.c.name])
            query = select(meta.c.value).where(meta.c.name == ROOT_CHECK)
            return str((await conn.execute(query)).scalar_one())

    async def create_key(
        self,
        key: MasterKey,
        wrapped_material: bytes,
        audit: AuditEntry,
    ) -> None:
        """Store a new key with its version 1; ``KeyExists`` if the id is taken."""
        try:
            async with database_errors(), self._engine.begin() as conn:
                await conn.execute(
                    keys.insert().values(
                        key_id=key.key_id,
                        description=key.description,
                        created_at=key.created_at,
                        current_version=1,
                    )
                )
                await conn.execute(
                    versions.insert().values(
                        key_id=key.key_id,
                        version=1,
                        wrapped_material=wrapped_material,
                        created_at=key.created_at,
                    )
                )
                await insert_audit(conn, replace(audit, key_version=1))
        except IntegrityError:
            raise KeyExists(f"key {key.key_id!r} exists already") from None

    async def add_version(
        self,
        key_id: str,
        wrap_for_version: Callable[[int], bytes],
        created_at: datetime,
        audit: AuditEntry,
    ) -> int:
        """Make a new version current; return its number. ``KeyNotFound`` if no such key."""
        bump = (
            update(keys)
            .where(keys.c.key_id == key_id)
            .values(current_version=keys.c.current_version + 1)
            .returning(keys.c.current_version)
        )
        async with database_errors(), self._engine.begin() as conn:
            # The UPDATE row-locks the key: concurrent rotations get distinct versions.
            version = (await conn.execute(bump)).scalar_one_or_none()
            if version is None:
                raise KeyNotFound(f"no key {key_id!r}")
            await conn.execute(
                versions.insert().values(
                    key_id=key_id,
                    version=version,
                    wrapped_material=wrap_for_version(version),
                    created_at=created_at,
                )
            )
            await insert_audit(conn, replace(audit, key_version=version))
        return int(version)

    async def current_wrapped(self, key_id: str) -> tuple[int, bytes] | None:
        """The current version of ``key_id`` and its wrapped material."""
        query = (
            select(versions.c.version, versions.c.wrapped_material, keys.c.disabled_at)
            .join(keys, keys.c.key_id == versions.c.key_id)
            .where(keys.c.key_id == key_id, versions.c.version == keys.c.current_version)
        )
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is not None and row.disabled_at is not None:
            raise KeyDisabled(f"key {key_id!r} is disabled")
        return None if row is None else (int(row.version), bytes(row.wrapped_material))

    async def wrapped(self, key_id: str, version: int) -> bytes | None:
        """A version's wrapped material; ``KeyDisabled`` while its key is disabled."""
        query = (
            select(versions.c.wrapped_material, keys.c.disabled_at)
            .join(keys, keys.c.key_id == versions.c.key_id)
            .where(versions.c.key_id == key_id, versions.c.version == version)
        )
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is not None and row.disabled_at is not None:
            raise KeyDisabled(f"key {key_id!r} is disabled")
        return None if row is None else bytes(row.wrapped_material)

    async def set_disabled(
        self, key_id: str, disabled_at: datetime | None, audit: AuditEntry
    ) -> None:
        """Disable (``disabled_at``) or enable (None) a key, audited in the same transaction."""
        async with database_errors(), self._engine.begin() as conn:
            changed = await conn.execute(
                update(keys).where(keys.c.key_id == key_id).values(disabled_at=disabled_at)
            )
            if not changed.rowcount:
                raise KeyNotFound(f"no key {key_id!r}")
            await insert_audit(conn, audit)

    async def rewrap_all(
        self, rewrap: Callable[[str, int, bytes], bytes], new_check: str, audit: AuditEntry
    ) -> int:
        """Re-wrap every stored version (``rewrap(key_id, version, wrapped)``) and record
        the new root key's check value, in one transaction; returns how many versions."""
        async with database_errors(), self._engine.begin() as conn:
            # Row locks on PostgreSQL: a concurrent rotation waits, then wraps a new version
            # after this commit (the service re-checks the root key before it wraps).
            await conn.execute(select(keys.c.key_id).with_for_update())
            rows = (
                await conn.execute(
                    select(versions.c.key_id, versions.c.version, versions.c.wrapped_material)
                )
            ).all()
            for row in rows:
                await conn.execute(
                    update(versions)
                    .where(versions.c.key_id == row.key_id, versions.c.version == row.version)
                    .values(
                        wrapped_material=rewrap(
                            row.key_id, int(row.version), bytes(row.wrapped_material)
                        )
                    )
                )
            await conn.execute(
                update(meta).where(meta.c.name == ROOT_CHECK).values(value=new_check)
            )
            await insert_audit(conn, audit)
        return len(rows)

    async def list_keys(self) -> list[MasterKey]:
        query = select(keys).order_by(keys.c.key_id)
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [
            MasterKey(
                row.key_id,
                row.description,
                row.created_at,
                row.current_version,
                disabled_at=row.disabled_at,
            )
            for row in rows
        ]

    async def describe_key(self, key_id: str) -> MasterKey | None:
        """The key with its versions (numbers and dates, never material)."""
        version_query = (
            select(versions.c.version, versions.c.created_at)
            .where(versions.c.key_id == key_id)
            .order_by(versions.c.version)
        )
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(select(keys).where(keys.c.key_id == key_id))).one_or_none()
            if row is None:
                return None
            found = (await conn.execute(version_query)).all()
        return MasterKey(
            key_id=row.key_id,
            description=row.description,
            created_at=row.created_at,
            current_version=row.current_version,
            versions=tuple(KeyVersion(v.version, v.created_at) for v in found),
            disabled_at=row.disabled_at,
        )
