"""Bring a database to the newest schema with Alembic; safe to run at every start."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from sealchat.adapters.sql.dialect import migration_transaction
from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.errors import database_errors

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HEAD = "head"


def alembic_config(url: str) -> Config:
    """An Alembic configuration built in code: no alembic.ini needs to be shipped."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # configparser interpolates %: escape it (URL-encoded passwords contain it).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade_to_head(url: str) -> None:
    """Apply every migration not applied yet; does nothing when already at head.

    Raises ``Unavailable`` when the database cannot be reached.
    """
    engine = create_engine(url)
    try:
        # The lock migration_transaction takes also keeps concurrent calls in one process
        # apart: Alembic's ``context`` and ``op`` are process-wide globals.
        async with database_errors(), migration_transaction(engine) as conn:
            await conn.run_sync(_upgrade, alembic_config(url))
    finally:
        await engine.dispose()


class SchemaOutOfDate(RuntimeError):
    """The database is not at the schema this code needs, and migrating is not ours to do."""


async def require_head(url: str) -> None:
    """Raise ``SchemaOutOfDate`` unless the database is at the newest revision
    (for nodes started with ``SEALCHAT_MIGRATE_ON_START=false``)."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    engine = create_engine(url)
    try:
        async with database_errors(), engine.connect() as conn:
            current = await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
    if current != head:
        raise SchemaOutOfDate(
            f"the database is at schema revision {current or 'none'}, this version needs "
            f"{head}: run `sealchat migrate` once (SEALCHAT_MIGRATE_ON_START is off)"
        )


def _upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, HEAD)
