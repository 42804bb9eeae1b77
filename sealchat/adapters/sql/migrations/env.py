"""Alembic environment. ``sealchat.adapters.sql.migrate`` passes in a connection;
the ``alembic`` command line (see alembic.ini) connects by itself."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from sealchat.adapters.sql.dialect import migration_transaction
from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.tables import metadata

config = context.config


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: autogenerate table-recreating batch ops.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline(url: str) -> None:
    """``alembic upgrade head --sql``: print the SQL for a DBA instead of running it."""
    context.configure(url=url, target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_migrations_online(url: str) -> None:
    engine = create_engine(url)
    try:
        async with migration_transaction(engine) as conn:
            await conn.run_sync(run_migrations)
    finally:
        await engine.dispose()


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from sealchat.settings import Settings  # only the command line reads settings

    return Settings().resolved_database_url()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
elif context.is_offline_mode():
    run_migrations_offline(database_url())
else:
    asyncio.run(run_migrations_online(database_url()))
