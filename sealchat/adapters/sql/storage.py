"""The storage ports implemented on SQLAlchemy Core: one import for the wiring."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.group_commit import BatchCommitter, GroupCommitWriter
from sealchat.adapters.sql.group_commit_postgres import PostgresCommitter
from sealchat.adapters.sql.group_commit_sqlite import SqliteCommitter
from sealchat.adapters.sql.messages import SqlMessageStore
from sealchat.adapters.sql.read_markers import SqlReadMarkerStore
from sealchat.adapters.sql.rooms import SqlRoomStore
from sealchat.adapters.sql.users import SqlUserStore

__all__ = [
    "GroupCommitWriter",
    "SqlMessageStore",
    "SqlReadMarkerStore",
    "SqlRoomStore",
    "SqlUserStore",
    "message_committer",
    "open_message_writer",
]


@asynccontextmanager
async def open_message_writer(
    engine: AsyncEngine, *, queue_max: int, batch_max: int, interval: float = 0.0
) -> AsyncIterator[GroupCommitWriter | None]:
    """The group-commit writer for ``engine``'s database, closed (drained) at the end.

    None for an in-memory SQLite database, which no second connection can share: its
    messages then take one transaction each through the engine.
    """
    committer = message_committer(engine)
    if committer is None:
        yield None
        return
    writer = GroupCommitWriter(
        committer, queue_max=queue_max, batch_max=batch_max, interval=interval
    )
    writer.start()
    try:
        yield writer
    finally:
        await writer.aclose()


def message_committer(engine: AsyncEngine) -> BatchCommitter | None:
    """The dialect's group-commit committer for ``engine``'s database (None: in memory)."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database in ("", ":memory:") or "mode=memory" in database:
            return None
        return SqliteCommitter(database, uri=database.startswith("file:"))
    # asyncpg itself, on the same database: the URL without SQLAlchemy's "+asyncpg".
    return PostgresCommitter(url.set(drivername="postgresql").render_as_string(hide_password=False))
