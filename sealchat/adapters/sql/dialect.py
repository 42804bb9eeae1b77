"""Everything that differs between SQLite and PostgreSQL. No other module branches on it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Table, exists, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql.engine import SQLITE_BEGIN_IMMEDIATE
from sealchat.adapters.sql.tables import ID, UTCDateTime, memberships, messages, rooms
from sealchat.domain.models import NewMessage

log = logging.getLogger(__name__)

POSTGRESQL = "postgresql"
SQLITE = "sqlite"

# How long a migrator waits for another one's upgrade to finish (SQLite).
MIGRATION_BUSY_TIMEOUT_MS = 120_000
# A TRUNCATE checkpoint waits up to busy_timeout for the writer; then tries again.
_CHECKPOINT_ATTEMPTS = 3

# Any constant works; it only has to be the same for every node running migrations.
_MIGRATION_LOCK_KEY = 0x5EA1C4A7

_MESSAGE_COLUMNS = [
    "id",
    "room_id",
    "seq",
    "sender_id",
    "client_msg_id",
    "envelope",
    "created_at",
    "relates_type",
    "relates_to",
]


async def append_message(
    conn: AsyncConnection, new: NewMessage, created_at: datetime
) -> int | None:
    """Take the room's next seq and insert the message with it; return the seq.

    None (nothing written) when the sender is not a member of the room. The UPDATE
    row-locks the room until commit, so seqs commit in seq order. A reused client
    message id raises IntegrityError; the caller rolls back, so no seq is consumed.
    A relation's target is checked by the caller, in the same transaction.
    """
    relates_type = None if new.relates_to is None else new.relates_to.type.value
    relates_to = None if new.relates_to is None else new.relates_to.message_id
    bump = (
        update(rooms)
        .where(
            rooms.c.id == new.room_id,
            exists().where(
                memberships.c.room_id == new.room_id,
                memberships.c.user_id == new.sender_id,
            ),
        )
        .values(last_seq=rooms.c.last_seq + 1)
        .returning(rooms.c.last_seq)
    )
    if conn.dialect.name == POSTGRESQL:
        # One round trip: WITH s AS (UPDATE ... RETURNING) INSERT ... SELECT FROM s.
        s = bump.cte("s")
        row = select(
            literal(new.id, ID),
            literal(new.room_id, ID),
            s.c.last_seq,
            literal(new.sender_id, ID),
            literal(new.client_msg_id, messages.c.client_msg_id.type),
            literal(new.envelope_json, messages.c.envelope.type),
            literal(created_at, UTCDateTime()),
            literal(relates_type, messages.c.relates_type.type),
            literal(relates_to, ID),
        )
        insert = (
            postgresql.insert(messages)
            .from_select(_MESSAGE_COLUMNS, row)
            .add_cte(s)
            .returning(messages.c.seq)
        )
        seq = (await conn.execute(insert)).scalar_one_or_none()
        return None if seq is None else int(seq)
    # SQLite serializes writers: the UPDATE holds the write lock until commit.
    seq = (await conn.execute(bump)).scalar_one_or_none()
    if seq is None:
        return None
    await conn.execute(
        messages.insert().values(
            id=new.id,
            room_id=new.room_id,
            seq=seq,
            sender_id=new.sender_id,
            client_msg_id=new.client_msg_id,
            envelope=new.envelope_json,
            created_at=created_at,
            relates_type=relates_type,
            relates_to=relates_to,
        )
    )
    return int(seq)


async def purge_erased(conn: AsyncConnection) -> None:
    """Make erased envelopes unrecoverable from the database files (SQLite).

    The erasing connection runs with ``secure_delete`` (freed space is zeroed), but the
    write-ahead log still holds the page images written before the erasure: checkpoint
    it into the database and truncate it to nothing. PostgreSQL keeps the old row
    version until VACUUM, and its WAL until recycled (docs/protocol.md says so).
    ``conn`` must be outside a transaction.
    """
    if conn.dialect.name != SQLITE:
        return
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None, "a checked-out connection has a driver connection"
    for _ in range(_CHECKPOINT_ATTEMPTS):
        cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy = (await cursor.fetchone() or (0,))[0]
        await cursor.close()
        if not busy:
            return
    log.warning(
        "the write-ahead log could not be truncated after a deletion: erased envelopes "
        "stay in it until later writes overwrite them"
    )


async def upsert(
    conn: AsyncConnection,
    table: Table,
    values: dict[str, Any],
    key: Sequence[Column[Any]],
    update_columns: Sequence[str],
) -> None:
    """Insert ``values``, or update ``update_columns`` of the row with the same ``key``."""
    if conn.dialect.name == POSTGRESQL:
        pg = postgresql.insert(table).values(values)
        excluded = {name: pg.excluded[name] for name in update_columns}
        await conn.execute(pg.on_conflict_do_update(index_elements=key, set_=excluded))
    else:
        lite = sqlite.insert(table).values(values)
        excluded = {name: lite.excluded[name] for name in update_columns}
        await conn.execute(lite.on_conflict_do_update(index_elements=key, set_=excluded))


async def insert_unless_exists(
    conn: AsyncConnection,
    table: Table,
    values: dict[str, Any],
    key: Sequence[Column[Any]],
) -> bool:
    """Insert a row unless one with the same ``key`` exists; True when inserted.

    Race-safe: on PostgreSQL a concurrent insert of the same key is waited for.
    """
    if conn.dialect.name == POSTGRESQL:
        pg = postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=key)
        result = await conn.execute(pg)
    else:
        lite = sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=key)
        result = await conn.execute(lite)
    return result.rowcount == 1


def is_foreign_key_violation(exc: IntegrityError) -> bool:
    """True when the statement referenced a row (a user, a room) that does not exist."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23503":  # asyncpg: foreign_key_violation
        return True
    return getattr(orig, "sqlite_errorcode", None) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY


def violates(exc: IntegrityError, index_name: str) -> bool:
    """True when the statement broke the named unique index (both drivers name it)."""
    return index_name in str(exc.orig)


@asynccontextmanager
async def migration_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction, prepared for running migrations.

    Concurrent callers (servers starting together) migrate one after the other.
    """
    async with engine.connect() as conn:
        if conn.dialect.name == SQLITE:
            # Batch migrations recreate tables: with foreign keys on, dropping the old
            # parent table would cascade-delete its children's rows. The pragma is
            # ignored inside a transaction, so it goes to the driver before BEGIN.
            driver = (await conn.get_raw_connection()).driver_connection
            assert driver is not None, "a checked-out connection has a driver connection"
            await driver.execute("PRAGMA foreign_keys=OFF")
            # Migrators starting together queue behind each other's whole upgrade, which
            # can take longer than the 5 s an ordinary write waits (this connection is
            # dropped afterwards, so the longer wait stays with migrations).
            await driver.execute(f"PRAGMA busy_timeout={MIGRATION_BUSY_TIMEOUT_MS}")
            # Take the write lock up front: a second migrator waits (busy_timeout)
            # instead of failing when it tries to write after reading the version.
            await conn.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True})
        try:
            async with conn.begin():
                if conn.dialect.name == POSTGRESQL:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                    )
                yield conn
        finally:
            if conn.dialect.name == SQLITE:
                # Don't hand a connection without foreign keys back to the pool.
                await conn.invalidate()
