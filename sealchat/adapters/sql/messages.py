"""Messages: sealed envelopes with a per-room sequence number."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql import dialect
from sealchat.adapters.sql.deletion import AlreadyDeleted, delete_in, message_from_row
from sealchat.adapters.sql.engine import SQLITE_BEGIN_IMMEDIATE
from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.group_commit import GroupCommitWriter
from sealchat.adapters.sql.tables import memberships, messages
from sealchat.domain.errors import Conflict
from sealchat.domain.models import AppendResult, Message, NewMessage
from sealchat.domain.relations import Target, relation_refusal


class SqlMessageStore:
    """Messages on ``engine``; appended through ``writer`` (group commit) when given,
    otherwise in one transaction each."""

    def __init__(self, engine: AsyncEngine, writer: GroupCommitWriter | None = None) -> None:
        self._engine = engine
        self._writer = writer

    async def append_message(self, new: NewMessage) -> AppendResult | None:
        if self._writer is not None:
            return await self._writer.append(new)
        created_at = datetime.now(UTC)
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    if new.relates_to is not None and not await _relation_allowed(conn, new):
                        return None
                    seq = await dialect.append_message(conn, new, created_at)
            except IntegrityError as exc:
                # Leaving the block rolled back the seq bump too: no gap in the room.
                existing = await self._find_by_client_msg_id(new)
                if existing is None:
                    raise Conflict("a message with that id already exists") from exc
                return AppendResult(message=existing, created=False)
        if seq is None:
            return None
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

    async def delete_message(
        self, marker: NewMessage, target_id: str, *, as_owner: bool
    ) -> AppendResult | None:
        created_at = datetime.now(UTC)
        async with database_errors(), self._engine.connect() as conn:
            # SQLite: the write lock at BEGIN, since the target is read before writing.
            await conn.execution_options(**{SQLITE_BEGIN_IMMEDIATE: True})
            try:
                async with conn.begin():
                    result = await delete_in(conn, marker, target_id, created_at, as_owner=as_owner)
            except AlreadyDeleted as already:
                return already.outcome
            if result is not None:
                await dialect.purge_erased(conn)
        return result

    async def list_messages(
        self,
        room_id: str,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int = 50,
    ) -> list[Message]:
        if limit <= 0:
            return []
        query = select(messages).where(messages.c.room_id == room_id).limit(limit)
        if before_seq is not None:
            query = query.where(messages.c.seq < before_seq)
        if after_seq is not None:
            query = query.where(messages.c.seq > after_seq).order_by(messages.c.seq)
        else:
            # The newest page: walk the (room_id, seq) index backwards, then flip.
            query = query.order_by(messages.c.seq.desc())
        async with database_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        found = [_message(row) for row in rows]
        return found if after_seq is not None else found[::-1]

    async def _find_by_client_msg_id(self, new: NewMessage) -> Message | None:
        query = select(messages).where(
            messages.c.room_id == new.room_id,
            messages.c.sender_id == new.sender_id,
            messages.c.client_msg_id == new.client_msg_id,
        )
        async with self._engine.begin() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _message(row)


_message = message_from_row


async def _relation_allowed(conn: AsyncConnection, new: NewMessage) -> bool:
    """Without the group-commit writer (an in-memory database): the relation rules, in
    the storing transaction. False for a non-member; raises the rules' refusal."""
    assert new.relates_to is not None
    member = await conn.execute(
        select(memberships.c.role).where(
            memberships.c.room_id == new.room_id, memberships.c.user_id == new.sender_id
        )
    )
    if member.first() is None:
        return False
    row = (
        await conn.execute(
            select(messages.c.sender_id, messages.c.relates_type, messages.c.deleted).where(
                messages.c.id == new.relates_to.message_id, messages.c.room_id == new.room_id
            )
        )
    ).first()
    target = None if row is None else Target(row.sender_id, row.relates_type, bool(row.deleted))
    refusal = relation_refusal(new.sender_id, new.relates_to, target)
    if refusal is not None:
        raise refusal
    return True
