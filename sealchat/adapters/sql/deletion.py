"""Deleting a message: erase its envelope and those of its edits and reactions, for good,
and append a deletion marker, in one transaction.

The target row is locked first (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is
taken at BEGIN), then the room (the seq bump): the same order as a batch of relations,
which share-locks its targets before it locks rooms. So a relation stored concurrently
either commits before the deletion, and is erased with the target, or sees the target
deleted and is refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import RowMapping, and_, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sealchat.adapters.sql.tables import memberships, messages, rooms
from sealchat.domain.models import AppendResult, Message, NewMessage, RelationType
from sealchat.domain.relations import ERASED_WITH_TARGET, Target, deletion_refusal, relation_of


class AlreadyDeleted(Exception):
    """Leaves the transaction (rolling back the seq bump) with the existing marker."""

    def __init__(self, outcome: AppendResult) -> None:
        self.outcome = outcome


async def delete_in(
    conn: AsyncConnection,
    marker: NewMessage,
    target_id: str,
    created_at: datetime,
    *,
    as_owner: bool,
) -> AppendResult | None:
    """Inside a transaction: erase ``target_id`` and store ``marker`` after it.

    None when the actor is not a member. A target already deleted returns its existing
    marker (``created=False``). Raises the rules' errors (not_found, forbidden,
    invalid_input); the caller's transaction then rolls back.
    """
    row = (
        await conn.execute(
            select(messages.c.sender_id, messages.c.relates_type, messages.c.deleted)
            .where(messages.c.id == target_id, messages.c.room_id == marker.room_id)
            .with_for_update()
        )
    ).first()
    target = None if row is None else Target(row.sender_id, row.relates_type, bool(row.deleted))
    bump = (
        update(rooms)
        .where(
            rooms.c.id == marker.room_id,
            exists().where(
                memberships.c.room_id == marker.room_id,
                memberships.c.user_id == marker.sender_id,
            ),
        )
        .values(last_seq=rooms.c.last_seq + 1)
        .returning(rooms.c.last_seq)
    )
    seq = (await conn.execute(bump)).scalar_one_or_none()
    if seq is None:
        return None
    refusal = deletion_refusal(marker.sender_id, target, as_owner=as_owner)
    if refusal is not None:
        raise refusal
    if target is not None and target.deleted:
        raise AlreadyDeleted(await _existing_marker(conn, marker.room_id, target_id))
    await conn.execute(
        update(messages)
        .where(
            messages.c.room_id == marker.room_id,
            or_(
                messages.c.id == target_id,
                and_(
                    messages.c.relates_to == target_id,
                    messages.c.relates_type.in_(ERASED_WITH_TARGET),
                ),
            ),
        )
        .values(envelope=None, deleted=True)
    )
    await conn.execute(
        messages.insert().values(
            id=marker.id,
            room_id=marker.room_id,
            seq=seq,
            sender_id=marker.sender_id,
            client_msg_id=marker.client_msg_id,
            envelope=None,
            created_at=created_at,
            relates_type=RelationType.DELETE.value,
            relates_to=target_id,
        )
    )
    stored = Message(
        id=marker.id,
        room_id=marker.room_id,
        seq=int(seq),
        sender_id=marker.sender_id,
        client_msg_id=marker.client_msg_id,
        envelope_json=None,
        created_at=created_at,
        relates_to=marker.relates_to,
    )
    return AppendResult(message=stored, created=True)


async def _existing_marker(conn: AsyncConnection, room_id: str, target_id: str) -> AppendResult:
    row = (
        (
            await conn.execute(
                select(messages)
                .where(
                    messages.c.room_id == room_id,
                    messages.c.relates_to == target_id,
                    messages.c.relates_type == RelationType.DELETE.value,
                )
                .order_by(messages.c.seq)
                .limit(1)
            )
        )
        .mappings()
        .one()
    )
    return AppendResult(message=message_from_row(row), created=False)


def message_from_row(row: RowMapping) -> Message:
    return Message(
        id=row["id"],
        room_id=row["room_id"],
        seq=row["seq"],
        sender_id=row["sender_id"],
        client_msg_id=row["client_msg_id"],
        envelope_json=row["envelope"],
        created_at=row["created_at"],
        relates_to=relation_of(row["relates_type"], row["relates_to"]),
        deleted=bool(row["deleted"]),
    )
