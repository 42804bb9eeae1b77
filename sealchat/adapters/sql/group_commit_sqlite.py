"""The SQLite group-commit committer: one connection (the stdlib driver) on one thread.

A batch costs one thread hop: the event loop hands it to the writer thread, which runs
the whole transaction and hands the outcomes back. Each message has a savepoint of its
own, so a message that fails (a reused id) is undone alone and the batch commits. The
statements are plain strings, prepared once by the driver's statement cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from sealchat.adapters.sql.engine import SQLITE_PRAGMAS
from sealchat.adapters.sql.group_commit import Outcome
from sealchat.domain.errors import Conflict, SealchatError, Unavailable
from sealchat.domain.models import AppendResult, Message, NewMessage, Relation
from sealchat.domain.relations import Target, relation_of, relation_refusal

log = logging.getLogger(__name__)

# The room's next seq, taken only when the sender is a member. The room row stays
# write-locked until COMMIT (SQLite has one writer), so seqs commit in order.
_BUMP = (
    "UPDATE rooms SET last_seq = last_seq + 1 WHERE id = ? AND EXISTS "
    "(SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?) RETURNING last_seq"
)
_INSERT = (
    "INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, envelope, created_at, "
    "relates_type, relates_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_ORIGINAL = (
    "SELECT id, seq, envelope, created_at, relates_type, relates_to, deleted FROM messages "
    "WHERE room_id = ? AND sender_id = ? AND client_msg_id = ?"
)
# A relation's target, looked up (relations only) after the membership check.
_TARGET = "SELECT sender_id, relates_type, deleted FROM messages WHERE id = ? AND room_id = ?"
# How SQLAlchemy's SQLite DATETIME stores a (naive UTC) datetime; readers parse this.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"


class SqliteCommitter:
    def __init__(self, database: str, *, uri: bool = False) -> None:
        self._database = database
        self._uri = uri
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sealchat-writer")

    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._commit, batch, created_at)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._disconnect)
        self._thread.shutdown(wait=True)

    # Everything below runs on the writer thread.

    def _commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        stamp = created_at.astimezone(UTC).replace(tzinfo=None).strftime(_SQLITE_DATETIME)
        try:
            conn = self._connect()
            conn.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [_append(conn, new, stamp, created_at) for new in batch]
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            # Locked past busy_timeout, disk full, file gone: nothing of the batch is
            # stored. A fresh connection next time lets the writer recover on its own.
            log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
            self._disconnect()
            raise Unavailable("the database is unavailable; try again shortly") from exc
        return outcomes

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # isolation_level=None: the driver opens no transaction; BEGIN is ours.
            conn = sqlite3.connect(self._database, uri=self._uri, isolation_level=None)
            try:
                for pragma in SQLITE_PRAGMAS:
                    conn.execute(pragma).fetchall()
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


def _append(conn: sqlite3.Connection, new: NewMessage, stamp: str, created_at: datetime) -> Outcome:
    conn.execute("SAVEPOINT message")
    try:
        # fetchall: run the statement to its end, so it holds nothing open.
        bumped = conn.execute(_BUMP, (new.room_id, new.room_id, new.sender_id)).fetchall()
        if not bumped:
            conn.execute("RELEASE message")
            return None
        seq = int(bumped[0][0])
        relation = new.relates_to
        if relation is not None:
            refusal = _refusal(conn, new, relation)
            if refusal is not None:
                conn.execute("ROLLBACK TO message")
                conn.execute("RELEASE message")
                # A resend of a relation stored before (say, before its target went)
                # still gets its original back.
                original = _original(conn, new)
                return original if isinstance(original, AppendResult) else refusal
        conn.execute(
            _INSERT,
            (
                new.id,
                new.room_id,
                seq,
                new.sender_id,
                new.client_msg_id,
                new.envelope_json,
                stamp,
                None if relation is None else relation.type.value,
                None if relation is None else relation.message_id,
            ),
        )
    except sqlite3.IntegrityError:
        # A reused client message id (or message id): undo this message's seq bump too.
        conn.execute("ROLLBACK TO message")
        conn.execute("RELEASE message")
        return _original(conn, new)
    conn.execute("RELEASE message")
    message = Message(
        id=new.id,
        room_id=new.room_id,
        seq=seq,
        sender_id=new.sender_id,
        client_msg_id=new.client_msg_id,
        envelope_json=new.envelope_json,
        created_at=created_at,
        relates_to=new.relates_to,
    )
    return AppendResult(message=message, created=True)


def _refusal(conn: sqlite3.Connection, new: NewMessage, relation: Relation) -> SealchatError | None:
    row = conn.execute(_TARGET, (relation.message_id, new.room_id)).fetchone()
    target = None if row is None else Target(row[0], row[1], bool(row[2]))
    return relation_refusal(new.sender_id, relation, target)


def _original(conn: sqlite3.Connection, new: NewMessage) -> Outcome:
    row = conn.execute(_ORIGINAL, (new.room_id, new.sender_id, new.client_msg_id)).fetchone()
    if row is None:
        return Conflict("a message with that id already exists")
    message_id, seq, envelope, stored_at, relates_type, relates_to, deleted = row
    message = Message(
        id=message_id,
        room_id=new.room_id,
        seq=int(seq),
        sender_id=new.sender_id,
        client_msg_id=new.client_msg_id,
        envelope_json=envelope,
        created_at=datetime.fromisoformat(stored_at).replace(tzinfo=UTC),
        relates_to=relation_of(relates_type, relates_to),
        deleted=bool(deleted),
    )
    return AppendResult(message=message, created=False)
