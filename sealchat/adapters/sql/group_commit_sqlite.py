"""The SQLite group-commit committer: one connection (the stdlib driver), one writer.

A small batch commits right on the event loop, as better-sqlite3 does in Node: in WAL
mode with ``synchronous=NORMAL`` a commit appends pages to the WAL and does not wait for
the disk, so it costs about as much CPU as the thread hop it saves (a hop, and the GIL
handed back and forth, on the server's one core). What could make it wait runs elsewhere:

- checkpoints (which fsync) are off on this connection (``wal_autocheckpoint=0``); a
  thread of their own, with its own connection, runs a PASSIVE checkpoint every
  ``CHECKPOINT_EVERY`` commits;
- the write lock is never waited for on the loop (``busy_timeout=0`` there): a batch
  that finds it held by another connection goes to the writer thread, which waits as
  before (``busy_timeout`` 5 s);
- a big batch (over ``LOOP_BATCH_MAX``), the first one (connecting) and, for
  ``SLOW_BACKOFF_SECONDS``, every batch after commits on the loop turned slow (a slow
  disk: see ``SLOW_COMMIT_SECONDS``) or one failed, go to the writer thread: one hop.

A message that fails (a reused id) is undone alone and the batch commits: a plain
message is one insert that takes the seq (a failed statement is undone by SQLite); each
room's counter is written once per batch, before COMMIT (and before a relation, which
bumps it itself in a savepoint of its own). The statements
are plain strings, prepared once by the driver's statement cache. Batches never overlap
(the group-commit writer sends one at a time), so the loop and the writer thread never
use the connection at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
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
# A plain message (no relation, the hot path) in one statement and no savepoint: the
# insert takes the room's next seq itself, and only when the sender is a member (no row
# otherwise); a reused client message id fails that one statement, which SQLite undoes
# alone (nothing of this message written). The room's counter moves to the batch's last
# seq once, at the end of the batch (_store_counters).
_INSERT_NEXT = (
    "INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, envelope, created_at, "
    "relates_type, relates_to) SELECT ?, id, last_seq + 1, ?, ?, ?, ?, NULL, NULL FROM rooms "
    "WHERE id = ? AND EXISTS (SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?) "
    "RETURNING seq"
)
# The room's next message in the same batch: its seq is known (the batch holds the write
# lock), so the room's row is read and written once per batch, not once per message.
_INSERT_AT = (
    "INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, envelope, created_at, "
    "relates_type, relates_to) SELECT ?, ?, ?, ?, ?, ?, ?, NULL, NULL "
    "WHERE EXISTS (SELECT 1 FROM memberships WHERE room_id = ? AND user_id = ?) "
    "RETURNING seq"
)
_SET_SEQ = "UPDATE rooms SET last_seq = ? WHERE id = ?"
# A relation's target, looked up (relations only) after the membership check.
_TARGET = "SELECT sender_id, relates_type, deleted FROM messages WHERE id = ? AND room_id = ?"
# How SQLAlchemy's SQLite DATETIME stores a (naive UTC) datetime; readers parse this.
_SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S.%f"

# Batches of at most this many messages commit on the event loop (about 7 µs of CPU per
# message plus 40 µs per commit: well under a millisecond).
LOOP_BATCH_MAX = 32
# Commits on the loop slower than this (wall time) are "slow". SLOW_OF_LAST of the last
# 8 being slow, or one over STALL_COMMIT_SECONDS, sends batches to the writer thread for
# SLOW_BACKOFF_SECONDS: the disk is slow, the loop must not wait on it. (One slow commit
# alone is usually the process being preempted on a busy machine, not the disk.)
SLOW_COMMIT_SECONDS = 0.002
SLOW_OF_LAST = 4
STALL_COMMIT_SECONDS = 0.02
SLOW_BACKOFF_SECONDS = 1.0
# Commits between two checkpoints: a commit of a small batch adds 5-8 pages to the WAL,
# so this is about SQLite's own default (a checkpoint per 1,000 pages).
CHECKPOINT_EVERY = 128
# The writer thread's wait for the write lock (SQLITE_PRAGMAS' busy_timeout).
_THREAD_BUSY_MS = 5000


class _LoopUnfit(Exception):
    """A batch the loop could not commit without waiting: nothing of it is stored."""


class SqliteCommitter:
    def __init__(self, database: str, *, uri: bool = False, on_loop: bool = True) -> None:
        self._database = database
        self._uri = uri
        self._on_loop = on_loop
        self._conn: sqlite3.Connection | None = None
        self._busy_ms = _THREAD_BUSY_MS  # the connection's busy_timeout now
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sealchat-writer")
        self._checkpointer = _Checkpointer(database, uri=uri)
        self._thread_until = 0.0  # monotonic time until which batches take the thread
        self._recent_slow = 0  # the last 8 commits on the loop: a bit set for each slow one
        self._commits = 0
        # Where batches committed (for the tests and the benchmark's curiosity).
        self.batches_on_loop = 0
        self.batches_on_thread = 0

    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        if (
            self._on_loop
            and self._conn is not None
            and len(batch) <= LOOP_BATCH_MAX
            and time.monotonic() >= self._thread_until
        ):
            started = time.perf_counter()
            try:
                outcomes = self._commit(batch, created_at, on_loop=True)
            except _LoopUnfit:
                self._back_off()
            else:
                self._timed(time.perf_counter() - started)
                self.batches_on_loop += 1
                self._committed()
                return outcomes
        loop = asyncio.get_running_loop()
        outcomes = await loop.run_in_executor(self._thread, self._commit, batch, created_at)
        self.batches_on_thread += 1
        self._committed()
        return outcomes

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._disconnect)
        self._thread.shutdown(wait=True)
        await loop.run_in_executor(None, self._checkpointer.close)

    def _timed(self, seconds: float) -> None:
        """Keep the loop's commits quick: back off to the thread when they are not."""
        self._recent_slow = ((self._recent_slow << 1) | (seconds > SLOW_COMMIT_SECONDS)) & 0xFF
        if seconds > STALL_COMMIT_SECONDS or self._recent_slow.bit_count() >= SLOW_OF_LAST:
            self._back_off()

    def _back_off(self) -> None:
        self._thread_until = time.monotonic() + SLOW_BACKOFF_SECONDS
        self._recent_slow = 0

    def _committed(self) -> None:
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0 and self._on_loop:
            self._checkpointer.start()

    # Below: on the writer thread, or on the loop for a small batch (never both at once).

    def _commit(
        self, batch: Sequence[NewMessage], created_at: datetime, *, on_loop: bool = False
    ) -> list[Outcome]:
        stamp = created_at.astimezone(UTC).replace(tzinfo=None).strftime(_SQLITE_DATETIME)
        try:
            conn = self._connect()
            self._set_busy_timeout(conn, 0 if on_loop else _THREAD_BUSY_MS)
            conn.execute("BEGIN IMMEDIATE")
            try:
                counters: dict[str, int] = {}
                outcomes = [_append(conn, new, stamp, created_at, counters) for new in batch]
                _store_counters(conn, counters)
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            if on_loop:
                # Locked by another connection, or anything else: nothing is stored; the
                # writer thread tries this batch again (and waits for the lock).
                raise _LoopUnfit() from exc
            # Locked past busy_timeout, disk full, file gone: nothing of the batch is
            # stored. A fresh connection next time lets the writer recover on its own.
            log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
            self._disconnect()
            raise Unavailable("the database is unavailable; try again shortly") from exc
        return outcomes

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            # isolation_level=None: the driver opens no transaction; BEGIN is ours.
            # check_same_thread=False: small batches commit on the loop's thread (one
            # user at a time, see above).
            conn = sqlite3.connect(
                self._database, uri=self._uri, isolation_level=None, check_same_thread=False
            )
            try:
                for pragma in SQLITE_PRAGMAS:
                    conn.execute(pragma).fetchall()
                if self._on_loop:  # checkpoints run on the checkpointer's thread
                    conn.execute("PRAGMA wal_autocheckpoint=0").fetchall()
            except sqlite3.Error:
                conn.close()
                raise
            self._conn = conn
            self._busy_ms = _THREAD_BUSY_MS
        return self._conn

    def _set_busy_timeout(self, conn: sqlite3.Connection, ms: int) -> None:
        if self._busy_ms != ms:
            conn.execute(f"PRAGMA busy_timeout={ms}").fetchall()
            self._busy_ms = ms

    def _disconnect(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None


class _Checkpointer:
    """PASSIVE checkpoints on a thread and a connection of their own, one at a time."""

    def __init__(self, database: str, *, uri: bool) -> None:
        self._database = database
        self._uri = uri
        self._conn: sqlite3.Connection | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sealchat-ckpt")
        self._running = False
        self.checkpoints = 0

    def start(self) -> None:
        """Start a checkpoint unless one is running."""
        if not self._running:
            self._running = True
            self._thread.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            if self._conn is None:
                self._conn = sqlite3.connect(self._database, uri=self._uri, isolation_level=None)
                self._conn.execute(f"PRAGMA busy_timeout={_THREAD_BUSY_MS}").fetchall()
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.checkpoints += 1
        except sqlite3.Error as exc:
            log.warning("WAL checkpoint failed: %s", exc)
            self._close_connection()
        finally:
            self._running = False

    def _close_connection(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def close(self) -> None:
        self._thread.shutdown(wait=True)
        self._close_connection()


def _append(
    conn: sqlite3.Connection,
    new: NewMessage,
    stamp: str,
    created_at: datetime,
    counters: dict[str, int],
) -> Outcome:
    """One message of a batch. ``counters``: rooms whose last seq this batch has taken
    but not yet written to their row (``_store_counters`` writes them)."""
    if new.relates_to is None:
        return _append_plain(conn, new, stamp, created_at, counters)
    _store_counters(conn, counters)  # a relation bumps the room's row itself
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
    return _created(new, seq, created_at)


def _append_plain(
    conn: sqlite3.Connection,
    new: NewMessage,
    stamp: str,
    created_at: datetime,
    counters: dict[str, int],
) -> Outcome:
    """A plain message in one statement: the insert takes the seq (from the room's row, or
    after the batch's last one in this room) and checks membership; a reused client
    message id fails that one statement, which SQLite undoes alone (no seq taken)."""
    room_id = new.room_id
    taken = counters.get(room_id)
    try:
        # fetchall: run the statement to its end, so it holds nothing open.
        if taken is None:
            inserted = conn.execute(
                _INSERT_NEXT,
                (
                    new.id,
                    new.sender_id,
                    new.client_msg_id,
                    new.envelope_json,
                    stamp,
                    room_id,
                    room_id,
                    new.sender_id,
                ),
            ).fetchall()
        else:
            inserted = conn.execute(
                _INSERT_AT,
                (
                    new.id,
                    room_id,
                    taken + 1,
                    new.sender_id,
                    new.client_msg_id,
                    new.envelope_json,
                    stamp,
                    room_id,
                    new.sender_id,
                ),
            ).fetchall()
    except sqlite3.IntegrityError:
        return _original(conn, new)  # a reused client message id (or message id)
    if not inserted:
        return None  # not a member (or no such room)
    seq = counters[room_id] = int(inserted[0][0])
    return _created(new, seq, created_at)


def _store_counters(conn: sqlite3.Connection, counters: dict[str, int]) -> None:
    """Write the seqs the batch took to their rooms' rows (before a relation bumps one
    itself, and before COMMIT)."""
    for room_id, seq in counters.items():
        conn.execute(_SET_SEQ, (seq, room_id))
    counters.clear()


def _created(new: NewMessage, seq: int, created_at: datetime) -> AppendResult:
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
