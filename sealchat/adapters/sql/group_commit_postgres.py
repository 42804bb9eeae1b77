"""The PostgreSQL group-commit committer: one statement, one round trip per batch.

asyncpg directly, on a connection of its own. The batch travels as arrays; one statement
keeps members only, drops client ids already stored (and repeats within the batch), locks
the rooms in id order (the same order on every node, so nodes never deadlock), numbers
the messages per room from each room's last seq, bumps the rooms, inserts, and says for
every message what became of it. A single statement is atomic: it stores all or nothing.

Its reads see the database as of the statement's start, but the room locks give the
freshest last_seq. When another node stores the same client id after that start, the
insert fails with a unique violation (nothing is stored) and the batch runs again, now
seeing the original. Any other failure of a batch is retried one message at a time, so
one bad message fails alone.

The statement is planned once per connection (a generic plan, remade every few minutes):
each batch row's checks are subqueries of their own (membership, a stored client id, a
taken message id), each answered by a unique index, and rooms are found by ``= ANY`` of
an array, so the one plan never depends on what a batch holds.

A batch holding relations (replies, edits, reactions) first looks their targets up, in
the same transaction, with a share lock on each target row: a deletion of that target
(which locks it for update) either commits before and is seen, or waits for the batch
and then erases the relation too. Batches of plain messages skip that step.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from sealchat.adapters.sql.errors import UNAVAILABLE_SQLSTATES
from sealchat.adapters.sql.group_commit import Outcome
from sealchat.domain.errors import Conflict, SealchatError, Unavailable
from sealchat.domain.models import AppendResult, Message, NewMessage
from sealchat.domain.relations import Target, relation_of, relation_refusal

log = logging.getLogger(__name__)

_APPEND_BATCH = """
WITH batch AS (
    SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $7::text[], $8::text[]
    ) WITH ORDINALITY AS b(id, room_id, sender_id, client_msg_id, envelope, relates_type,
        relates_to, ord)
), checked AS (
    -- Scalar subqueries (LIMIT 1), not EXISTS: the planner may not answer them by hashing
    -- a whole table, only row by row through the unique indexes.
    SELECT b.*,
        coalesce((
            SELECT true FROM memberships m WHERE m.room_id = b.room_id
                AND m.user_id = b.sender_id LIMIT 1
        ), false) AS member,
        (
            SELECT o.id FROM messages o WHERE o.room_id = b.room_id
                AND o.sender_id = b.sender_id AND o.client_msg_id = b.client_msg_id LIMIT 1
        ) AS old_id,
        coalesce((SELECT true FROM messages o WHERE o.id = b.id LIMIT 1), false) AS id_taken
    FROM batch b
), fresh AS (
    SELECT DISTINCT ON (c.room_id, c.sender_id, c.client_msg_id) c.* FROM checked c
    WHERE c.member AND c.old_id IS NULL AND NOT c.id_taken
    ORDER BY c.room_id, c.sender_id, c.client_msg_id, c.ord
), locked AS (
    SELECT r.id, r.last_seq FROM rooms r
    WHERE r.id = ANY (ARRAY(SELECT room_id FROM fresh)) ORDER BY r.id FOR UPDATE
), numbered AS (
    SELECT f.*, l.last_seq + row_number() OVER (PARTITION BY f.room_id ORDER BY f.ord) AS seq
    FROM fresh f JOIN locked l ON l.id = f.room_id
), bumped AS (
    UPDATE rooms r SET last_seq = (SELECT max(n.seq) FROM numbered n WHERE n.room_id = r.id)
    WHERE r.id = ANY (ARRAY(SELECT id FROM locked))
), inserted AS (
    INSERT INTO messages (id, room_id, seq, sender_id, client_msg_id, envelope, created_at,
        relates_type, relates_to)
    SELECT id, room_id, seq, sender_id, client_msg_id, envelope, $6, relates_type, relates_to
    FROM numbered
)
SELECT
    CASE
        WHEN NOT c.member THEN 'denied'
        WHEN n.ord = c.ord THEN 'created'
        WHEN n.ord IS NOT NULL OR old.id IS NOT NULL THEN 'duplicate'
        ELSE 'conflict'
    END AS outcome,
    coalesce(n.id, old.id) AS id,
    coalesce(n.seq, old.seq) AS seq,
    coalesce(n.envelope, old.envelope) AS envelope,
    CASE WHEN n.ord IS NOT NULL THEN $6 ELSE old.created_at END AS created_at,
    CASE WHEN n.ord IS NOT NULL THEN n.relates_type ELSE old.relates_type END AS relates_type,
    CASE WHEN n.ord IS NOT NULL THEN n.relates_to ELSE old.relates_to END AS relates_to,
    CASE WHEN n.ord IS NOT NULL THEN false ELSE coalesce(old.deleted, false) END AS deleted
FROM checked c
LEFT JOIN numbered n ON n.room_id = c.room_id AND n.sender_id = c.sender_id
    AND n.client_msg_id = c.client_msg_id
LEFT JOIN LATERAL (
    SELECT o.id, o.seq, o.envelope, o.created_at, o.relates_type, o.relates_to, o.deleted
    FROM messages o WHERE o.id = c.old_id OFFSET 0
) old ON true
ORDER BY c.ord
"""

# The targets of a batch's relations, share-locked, with what the rules need: whether the
# sender is a member (a non-member learns nothing about messages), whether the message
# is a resend (which gets its original back), and the target's sender and kind.
_RELATION_TARGETS = """
SELECT
    coalesce((
        SELECT true FROM memberships m WHERE m.room_id = b.room_id AND m.user_id = b.sender_id
        LIMIT 1
    ), false) AS member,
    coalesce((
        SELECT true FROM messages o WHERE o.room_id = b.room_id AND o.sender_id = b.sender_id
            AND o.client_msg_id = b.client_msg_id LIMIT 1
    ), false) AS resent,
    t.sender_id, t.relates_type, t.deleted
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
    WITH ORDINALITY AS b(room_id, sender_id, client_msg_id, target, ord)
LEFT JOIN LATERAL (
    SELECT x.sender_id, x.relates_type, x.deleted FROM messages x
    WHERE x.id = b.target AND x.room_id = b.room_id
    FOR SHARE
) t ON true
ORDER BY b.ord
"""

CONNECT_TIMEOUT_SECONDS = 10
# How long the committer's connection keeps its statements' plans before making them again.
PLAN_REFRESH_SECONDS = 300.0


class PostgresCommitter:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None
        self._planned_at = 0.0

    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        failure: Exception | None = None
        for _ in range(2):
            try:
                return await self._append_batch(batch, created_at)
            except asyncpg.UniqueViolationError as exc:
                failure = exc  # another node stored one of these client ids: look again
            except Exception as exc:
                if _means_unavailable(exc):
                    await self._disconnect()
                    log.warning("database unavailable: %s", type(exc).__name__)
                    raise Unavailable("the database is unavailable; try again shortly") from exc
                failure = exc
                break
        if len(batch) == 1:
            log.warning("a message could not be stored: %s", failure)
            if isinstance(failure, asyncpg.UniqueViolationError):
                return [Conflict("a message with that id already exists")]
            return [SealchatError("the message could not be stored")]
        outcomes: list[Outcome] = []
        for new in batch:
            outcomes += await self.commit([new], created_at)
        return outcomes

    async def close(self) -> None:
        await self._disconnect()

    async def _append_batch(
        self, batch: Sequence[NewMessage], created_at: datetime
    ) -> list[Outcome]:
        conn = await self._connect()
        if all(new.relates_to is None for new in batch):
            return await self._store(conn, batch, created_at)
        async with conn.transaction():
            refused = await _refusals(conn, batch)
            kept = [new for index, new in enumerate(batch) if index not in refused]
            stored = iter(await self._store(conn, kept, created_at) if kept else [])
            return [refused[i] if i in refused else next(stored) for i in range(len(batch))]

    async def _store(
        self, conn: asyncpg.Connection, batch: Sequence[NewMessage], created_at: datetime
    ) -> list[Outcome]:
        rows = await conn.fetch(
            _APPEND_BATCH,
            [new.id for new in batch],
            [new.room_id for new in batch],
            [new.sender_id for new in batch],
            [new.client_msg_id for new in batch],
            [new.envelope_json for new in batch],
            created_at,
            [None if new.relates_to is None else new.relates_to.type.value for new in batch],
            [None if new.relates_to is None else new.relates_to.message_id for new in batch],
        )
        return [_outcome(new, row) for new, row in zip(batch, rows, strict=True)]

    async def _connect(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await asyncpg.connect(
                self._dsn,
                timeout=CONNECT_TIMEOUT_SECONDS,
                # Plan each statement once, not for every batch: planning the batch
                # statement cost more CPU than running it (measured: 1.55 ms of PostgreSQL
                # CPU per batch of one planned every time, 0.58 ms planned once). The
                # statements are written so that their one plan looks every row up by a
                # unique index whatever the batch holds (per-row subqueries, ``= ANY`` of
                # an array): no plan that reads a whole room or table (see _APPEND_BATCH).
                server_settings={"plan_cache_mode": "force_generic_plan"},
            )
            self._planned_at = time.monotonic()
        elif time.monotonic() - self._planned_at > PLAN_REFRESH_SECONDS:
            # The plans were made with the tables' statistics of their time (a new
            # database: a few rows, where a scan is cheapest); make them again now.
            await self._conn.execute("DISCARD PLANS")
            self._planned_at = time.monotonic()
        return self._conn

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            try:
                await conn.close(timeout=5)
            except Exception:  # a broken connection: just drop it
                conn.terminate()


def _outcome(new: NewMessage, row: Any) -> Outcome:
    outcome = row["outcome"]
    if outcome == "denied":
        return None
    if outcome == "conflict":
        return Conflict("a message with that id already exists")
    message = Message(
        id=row["id"],
        room_id=new.room_id,
        seq=int(row["seq"]),
        sender_id=new.sender_id,
        client_msg_id=new.client_msg_id,
        envelope_json=row["envelope"],
        created_at=row["created_at"].astimezone(UTC),
        relates_to=relation_of(row["relates_type"], row["relates_to"]),
        deleted=bool(row["deleted"]),
    )
    return AppendResult(message=message, created=outcome == "created")


async def _refusals(conn: asyncpg.Connection, batch: Sequence[NewMessage]) -> dict[int, Outcome]:
    """The relations of ``batch`` the rules refuse, by their index in the batch."""
    asking = [(index, new) for index, new in enumerate(batch) if new.relates_to is not None]
    rows = await conn.fetch(
        _RELATION_TARGETS,
        [new.room_id for _, new in asking],
        [new.sender_id for _, new in asking],
        [new.client_msg_id for _, new in asking],
        [new.relates_to.message_id for _, new in asking if new.relates_to is not None],
    )
    refused: dict[int, Outcome] = {}
    for (index, new), row in zip(asking, rows, strict=True):
        if not row["member"] or row["resent"] or new.relates_to is None:
            continue  # the batch statement denies it, or returns the original
        target = None
        if row["sender_id"] is not None:
            target = Target(row["sender_id"], row["relates_type"], bool(row["deleted"]))
        refusal = relation_refusal(new.sender_id, new.relates_to, target)
        if refusal is not None:
            refused[index] = refusal
    return refused


def _means_unavailable(exc: Exception) -> bool:
    if isinstance(exc, OSError | asyncpg.InterfaceError | TimeoutError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATES)
