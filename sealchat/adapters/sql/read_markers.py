"""Read markers: how far each member has read a room, and what is unread."""

from __future__ import annotations

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import memberships, messages, rooms
from sealchat.domain.models import RelationType

# What counts as unread: messages of others that are not relations, except replies
# (an edit, a reaction or a deletion is not news), and not deleted.
_COUNTED = and_(
    or_(messages.c.relates_type.is_(None), messages.c.relates_type == RelationType.REPLY.value),
    messages.c.deleted.is_(False),
)


class SqlReadMarkerStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def mark_read(self, room_id: str, user_id: str, seq: int) -> tuple[int, bool] | None:
        """Move the marker forward to ``seq`` (at most the room's last seq); never back.

        Returns the marker and whether it moved; None when the user is not a member.
        """
        last_seq = select(rooms.c.last_seq).where(rooms.c.id == room_id).scalar_subquery()
        target = case((last_seq < seq, last_seq), else_=seq)
        mine = and_(memberships.c.room_id == room_id, memberships.c.user_id == user_id)
        move = (
            update(memberships)
            .where(mine, memberships.c.last_read_seq < target)
            .values(last_read_seq=target)
        )
        async with database_errors(), self._engine.begin() as conn:
            moved = (await conn.execute(move)).rowcount > 0
            marker = (
                await conn.execute(select(memberships.c.last_read_seq).where(mine))
            ).scalar_one_or_none()
        return None if marker is None else (int(marker), moved)

    async def read_state(self, user_id: str) -> dict[str, tuple[int, int]]:
        """Every room of the user: ``(last_read_seq, unread)``, in one grouped query.

        It reads only the messages after each marker, through the (room_id, seq) index.
        """
        query = (
            select(
                memberships.c.room_id,
                memberships.c.last_read_seq,
                func.count(messages.c.id).label("unread"),
            )
            .select_from(memberships)
            .outerjoin(
                messages,
                and_(
                    messages.c.room_id == memberships.c.room_id,
                    messages.c.seq > memberships.c.last_read_seq,
                    messages.c.sender_id != user_id,
                    _COUNTED,
                ),
            )
            .where(memberships.c.user_id == user_id)
            .group_by(memberships.c.room_id, memberships.c.last_read_seq)
        )
        async with database_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
        return {row.room_id: (int(row.last_read_seq), int(row.unread)) for row in rows}

    async def unread(self, room_id: str, user_id: str, after_seq: int) -> int:
        query = select(func.count()).where(
            messages.c.room_id == room_id,
            messages.c.seq > after_seq,
            messages.c.sender_id != user_id,
            _COUNTED,
        )
        async with database_errors(), self._engine.begin() as conn:
            return int((await conn.execute(query)).scalar_one())

    async def markers(self, room_id: str) -> dict[str, int]:
        """Each member's read marker in the room."""
        query = select(memberships.c.user_id, memberships.c.last_read_seq).where(
            memberships.c.room_id == room_id
        )
        async with database_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
        return {row.user_id: int(row.last_read_seq) for row in rows}
