from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.migrate import alembic_config, upgrade_to_head
from sealchat.adapters.sql.storage import SqlUserStore
from sealchat.adapters.sql.tables import memberships, metadata, rooms, users
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

    assert script.get_heads() == ["0008"]


async def test_upgrade_creates_the_schema_and_is_idempotent(empty_database: str) -> None:
    await upgrade_to_head(empty_database)
    engine = create_engine(empty_database)
    try:
        assert await current_revision(engine) == "0008"
        alice = User(id="u1", username="alice")
        await SqlUserStore(engine).upsert_user(alice)

        await upgrade_to_head(empty_database)

        assert await current_revision(engine) == "0008"
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
        assert await current_revision(engine) == "0008"
    finally:
        await engine.dispose()


# SQLite's reflection cannot read an index on an expression (rooms' lower(name)); Alembic then
# leaves that index out of the comparison on both sides. The 0007 test checks it works.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings(
    "ignore:autogenerate skipping metadata-specified expression-based index"
)
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


async def upgrade_to(url: str, revision: str) -> None:
    from alembic import command

    from sealchat.adapters.sql.dialect import migration_transaction

    def run(conn: Connection) -> None:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)

    engine = create_engine(url)
    try:
        async with migration_transaction(engine) as conn:
            await conn.run_sync(run)
    finally:
        await engine.dispose()


async def test_0007_archives_empty_rooms_and_renames_duplicate_public_names(
    empty_database: str,
) -> None:
    await upgrade_to(empty_database, "0003")
    engine = create_engine(empty_database)
    now = datetime.now(UTC)
    room_rows = [  # (id, name, visibility, created_at offset, has a member)
        ("r1", "General", "public", 0, True),
        ("r2", "general", "public", 1, True),
        ("r3", "GENERAL", "public", 2, True),
        ("r4", "General (2)", "public", 3, True),
        ("r5", "general", "public", 4, False),
        ("r6", "general", "private", 5, True),
        ("r7", "empty private", "private", 6, False),
        ("r8", "alice, bob", "direct", 7, False),
    ]
    try:
        async with engine.begin() as conn:
            await conn.execute(users.insert().values(id="u1", username="alice", created_at=now))
            for room_id, name, visibility, offset, member in room_rows:
                await conn.execute(
                    rooms.insert().values(
                        id=room_id,
                        name=name,
                        visibility=visibility,
                        created_by="u1",
                        created_at=now + timedelta(seconds=offset),
                        last_seq=0,
                        dm_key=f"k{room_id}" if visibility == "direct" else None,
                    )
                )
                if member:
                    await conn.execute(
                        memberships.insert().values(
                            room_id=room_id, user_id="u1", role="owner", joined_at=now
                        )
                    )
    finally:
        await engine.dispose()

    await upgrade_to_head(empty_database)

    engine = create_engine(empty_database)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(rooms.c.id, rooms.c.name, rooms.c.archived_at).order_by(rooms.c.id)
                )
            ).all()
        found = {room_id: (name, archived is not None) for room_id, name, archived in rows}
        assert found == {
            "r1": ("General", False),  # the oldest keeps its name
            "r2": ("general (3)", False),  # "(2)" is taken by r4
            "r3": ("GENERAL (4)", False),
            "r4": ("General (2)", False),
            "r5": ("general", True),  # nobody in it: archived, its name left as it was
            "r6": ("general", False),  # private rooms may share names
            "r7": ("empty private", True),
            "r8": ("alice, bob", False),  # direct rooms are never archived
        }
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(
                    rooms.insert().values(
                        id="r9",
                        name="gEnErAl",
                        visibility="public",
                        created_by="u1",
                        created_at=now,
                        last_seq=0,
                    )
                )
    finally:
        await engine.dispose()
