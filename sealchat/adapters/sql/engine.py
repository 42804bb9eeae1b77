"""Build the async engine for a database URL: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

log = logging.getLogger(__name__)

# Applied to every new SQLite connection. WAL lets readers run beside the one writer;
# busy_timeout makes a second writer wait for the lock instead of failing at once;
# synchronous=NORMAL is durable across application crashes in WAL mode. busy_timeout
# comes first: switching a fresh database to WAL takes a lock, and a second connection
# doing the same at that moment must wait for it, not fail with "database is locked".
SQLITE_PRAGMAS = (
    "PRAGMA busy_timeout=5000",
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)

# Engine connections only (not the group-commit writer, which only inserts): deleted
# messages, erased envelopes, retention and rooms deleted by an operator are overwritten
# with zeros, so envelope bytes do not linger readable in free pages of the file.
SQLITE_ENGINE_PRAGMAS = ("PRAGMA secure_delete=ON",)

# Execution option: True makes a SQLite transaction take the write lock at BEGIN.
SQLITE_BEGIN_IMMEDIATE = "sealchat_sqlite_begin_immediate"


def create_engine(url: str) -> AsyncEngine:
    """The engine for ``url``; nothing connects until the first query."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        return _sqlite_engine(sa_url)
    return create_async_engine(
        sa_url,
        # A node survives a database restart: stale pooled connections are replaced.
        pool_pre_ping=True,
        pool_recycle=1800,
        # A dead server fails fast (and surfaces as Unavailable) instead of hanging.
        connect_args={"timeout": 10},
    )


def _sqlite_engine(url: URL) -> AsyncEngine:
    database = url.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        private_database_file(Path(database))
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _on_sqlite_connect)
    event.listen(engine.sync_engine, "begin", _on_sqlite_begin)
    return engine


def private_database_file(path: Path) -> None:
    """Create the SQLite file readable by its owner alone (0600), before SQLite does.

    SQLite creates the database with the umask's mode (often 0644), and its -wal and
    -shm files copy the database file's mode; the chat database holds the password
    hashes. An existing file open to others is made private, with a warning.
    """
    if os.name != "posix":
        return
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                os.chmod(file, mode & 0o700)
                log.warning(
                    "%s was accessible to other users (mode %04o); made it 0600", file, mode
                )
        except FileNotFoundError:
            continue


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 driver's legacy mode only opens a transaction before INSERT/UPDATE/
    # DELETE, so reads before the first write would escape the transaction. Turn its
    # transaction handling off and emit BEGIN ourselves (see _on_sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        for pragma in (*SQLITE_PRAGMAS, *SQLITE_ENGINE_PRAGMAS):
            cursor.execute(pragma)
    finally:
        cursor.close()


def _on_sqlite_begin(connection: Connection) -> None:
    # Deferred by default: the write lock is taken by the first write, and readers never
    # wait. Store methods write first (UPDATE ... RETURNING, INSERT ... ON CONFLICT), so
    # busy_timeout queues them; a transaction that writes after reading, while another
    # writer commits, fails with "database is locked" (Unavailable) instead of losing
    # an update.
    if connection.get_execution_options().get(SQLITE_BEGIN_IMMEDIATE):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")
