from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.migrate import alembic_config, upgrade_to_head
from sealchat.adapters.sql.storage import SqlUserStore
from sealchat.adapters.sql.tables import metadata, users
from sealchat.domain.models import User
from tests.pg_support import temp_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database no migration has touched yet."""
    if request.param == "sqlite":
        # A directory that does not exist yet: the engine creates it.
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'fresh.db'}"
        return
    async with temp_database() as url:
        yield url


async def current_revision(engine: AsyncEngine) -> str | None:
    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(read)


def test_the_migrations_have_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite://"))

    assert script.get_heads() == ["0006"]


async def test_upgrade_creates_the_schema_and_is_idempotent(empty_database: str) -> None:
    await upgrade_to_head(empty_database)
    engine = create_engine(empty_database)
    try:
        assert await current_revision(engine) == "0006"
        alice = User(id="u1", username="alice")
        await SqlUserStore(engine).upsert_user(alice)

        await upgrade_to_head(empty_database)

        assert await current_revision(engine) == "0006"
        assert await SqlUserStore(engine).get_user("u1") == alice
        async with engine.connect() as conn:
            assert (await conn.execute(select(users.c.id))).scalars().all() == ["u1"]
    finally:
        await engine.dispose()


async def test_concurrent_upgrades_take_turns(empty_database: str) -> None:
    # Several servers starting at once against one fresh database.
    await asyncio.gather(*(upgrade_to_head(empty_database) for _ in range(4)))

    engine = create_engine(empty_database)
    try:
        assert await current_revision(engine) == "0006"
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_tables(engine: AsyncEngine) -> None:
    def diff(conn: Connection) -> list[Any]:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))

    async with engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_the_engine_sets_the_sqlite_pragmas(sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        async with engine.connect() as conn:
            pragmas = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar_one()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await engine.dispose()

    # synchronous 1 is NORMAL.
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": 5000,
        "synchronous": 1,
    }
