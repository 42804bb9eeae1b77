"""Rooms and their memberships."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, RowMapping, ScalarSelect, delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql import dialect
from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import invitations, memberships, rooms, users
from sealchat.domain.errors import Conflict, NotFound, SealchatError
from sealchat.domain.models import (
    DirectoryEntry,
    Invitation,
    Member,
    MyRoom,
    Role,
    Room,
    User,
    Visibility,
)


class SqlRoomStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_room(self, room: Room, owner_id: str) -> Room:
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    await conn.execute(rooms.insert().values(_room_values(room, dm_key=None)))
                    await conn.execute(
                        memberships.insert().values(_member_values(room.id, owner_id, Role.OWNER))
                    )
            except IntegrityError as exc:
                raise _integrity_error(exc, "room") from exc
        return replace(room, last_seq=0)

    async def get_or_create_direct_room(
        self, room: Room, dm_key: str, member_ids: list[str]
    ) -> tuple[Room, bool]:
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    values = _room_values(room, dm_key=dm_key)
                    # Waits for a concurrent creator of the same pair instead of failing.
                    if await dialect.insert_unless_exists(conn, rooms, values, [rooms.c.dm_key]):
                        members = [
                            _member_values(room.id, user_id, Role.MEMBER)
                            for user_id in dict.fromkeys(member_ids)
                        ]
                        if members:
                            await conn.execute(memberships.insert(), members)
                        return replace(room, last_seq=0), True
                    existing = await _select_room(conn, rooms.c.dm_key == dm_key)
            except IntegrityError as exc:
                raise _integrity_error(exc, "direct room") from exc
        if existing is None:  # Only if it was deleted in between.
            raise Conflict("the direct room changed concurrently; try again")
        return existing, False

    async def get_room(self, room_id: str) -> Room | None:
        async with database_errors(), self._engine.begin() as conn:
            return await _select_room(conn, rooms.c.id == room_id)

    async def list_user_rooms(self, user_id: str) -> list[MyRoom]:
        query = (
            select(rooms, memberships.c.role)
            .join(memberships, memberships.c.room_id == rooms.c.id)
            .where(memberships.c.user_id == user_id)
            .order_by(func.lower(rooms.c.name), rooms.c.name, rooms.c.id)
        )
        async with database_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [MyRoom(room=_room(row), role=Role(row["role"])) for row in rows]

    async def list_user_room_ids(self, user_id: str) -> list[str]:
        query = (
            select(memberships.c.room_id)
            .where(memberships.c.user_id == user_id)
            .order_by(memberships.c.room_id)
        )
        async with database_errors(), self._engine.begin() as conn:
            return list((await conn.execute(query)).scalars())

    async def list_public_rooms(self, limit: int) -> list[DirectoryEntry]:
        query = (
            select(
                rooms,
                _member_count().label("member_count"),
                _owner_column(users.c.id).label("owner_id"),
                _owner_column(users.c.username).label("owner_username"),
            )
            .where(rooms.c.visibility == Visibility.PUBLIC.value)
            .order_by(func.lower(rooms.c.name), rooms.c.name, rooms.c.id)
            .limit(max(limit, 0))
        )
        async with database_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            DirectoryEntry(room=_room(row), member_count=row["member_count"], owner=_owner(row))
            for row in rows
        ]

    async def get_role(self, room_id: str, user_id: str) -> Role | None:
        query = select(memberships.c.role).where(
            memberships.c.room_id == room_id, memberships.c.user_id == user_id
        )
        async with database_errors(), self._engine.begin() as conn:
            role = (await conn.execute(query)).scalar_one_or_none()
        return None if role is None else Role(role)

    async def add_member(self, room_id: str, user_id: str, role: Role) -> bool:
        values = _joining_values(room_id, user_id, role)
        key = [memberships.c.room_id, memberships.c.user_id]
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    return await dialect.insert_unless_exists(conn, memberships, values, key)
            except IntegrityError as exc:
                raise _integrity_error(exc, "membership") from exc

    async def remove_member(self, room_id: str, user_id: str) -> bool:
        statement = delete(memberships).where(
            memberships.c.room_id == room_id, memberships.c.user_id == user_id
        )
        async with database_errors(), self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount > 0

    async def set_role(self, room_id: str, user_id: str, role: Role) -> None:
        statement = (
            update(memberships)
            .where(memberships.c.room_id == room_id, memberships.c.user_id == user_id)
            .values(role=role.value)
        )
        async with database_errors(), self._engine.begin() as conn:
            updated = (await conn.execute(statement)).rowcount
        if updated == 0:
            raise NotFound("that user is not a member of the room")

    async def list_members(self, room_id: str) -> list[Member]:
        query = (
            select(memberships.c.role, memberships.c.joined_at, users.c.id, users.c.username)
            .join(users, users.c.id == memberships.c.user_id)
            .where(memberships.c.room_id == room_id)
            .order_by(memberships.c.joined_at, memberships.c.user_id)
        )
        async with database_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            Member(
                user=User(id=row["id"], username=row["username"]),
                role=Role(row["role"]),
                joined_at=row["joined_at"],
            )
            for row in rows
        ]

    # invitations

    async def create_invitation(
        self, room_id: str, invitee_id: str, inviter_id: str, created_at: datetime
    ) -> bool:
        values = {
            "room_id": room_id,
            "invitee_id": invitee_id,
            "inviter_id": inviter_id,
            "created_at": created_at,
        }
        key = [invitations.c.room_id, invitations.c.invitee_id]
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    return await dialect.insert_unless_exists(conn, invitations, values, key)
            except IntegrityError as exc:
                raise _integrity_error(exc, "invitation") from exc

    async def get_invitation(self, room_id: str, invitee_id: str) -> Invitation | None:
        query = _invitation_query().where(
            invitations.c.room_id == room_id, invitations.c.invitee_id == invitee_id
        )
        async with database_errors(), self._engine.begin() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _invitation(row)

    async def list_invitations(self, invitee_id: str) -> list[Invitation]:
        query = (
            _invitation_query()
            .where(invitations.c.invitee_id == invitee_id)
            .order_by(invitations.c.created_at, invitations.c.room_id)
        )
        async with database_errors(), self._engine.begin() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_invitation(row) for row in rows]

    async def delete_invitation(self, room_id: str, invitee_id: str) -> bool:
        statement = delete(invitations).where(
            invitations.c.room_id == room_id, invitations.c.invitee_id == invitee_id
        )
        async with database_errors(), self._engine.begin() as conn:
            return (await conn.execute(statement)).rowcount > 0

    async def accept_invitation(self, room_id: str, invitee_id: str, role: Role) -> bool:
        statement = delete(invitations).where(
            invitations.c.room_id == room_id, invitations.c.invitee_id == invitee_id
        )
        key = [memberships.c.room_id, memberships.c.user_id]
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    # The DELETE locks the invitation: two accepts cannot both go on.
                    if (await conn.execute(statement)).rowcount == 0:
                        return False
                    values = _joining_values(room_id, invitee_id, role)
                    await dialect.insert_unless_exists(conn, memberships, values, key)
                    return True
            except IntegrityError as exc:
                raise _integrity_error(exc, "membership") from exc


def _member_count() -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(memberships.c.room_id == rooms.c.id)
        .correlate(rooms)
        .scalar_subquery()
    )


def _owner_column(column: Any) -> ScalarSelect[Any]:
    """A column of the room's longest-standing owner (NULL when nobody owns it)."""
    return (
        select(column)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.room_id == rooms.c.id, memberships.c.role == Role.OWNER.value)
        .order_by(memberships.c.joined_at, memberships.c.user_id)
        .limit(1)
        .correlate(rooms)
        .scalar_subquery()
    )


def _owner(row: RowMapping) -> User | None:
    if row["owner_id"] is None:
        return None
    return User(id=row["owner_id"], username=row["owner_username"])


def _invitation_query() -> Any:
    invitee = users.alias("invitee")
    inviter = users.alias("inviter")
    return (
        select(
            rooms,
            invitations.c.created_at.label("invited_at"),
            invitee.c.id.label("invitee_id"),
            invitee.c.username.label("invitee_username"),
            inviter.c.id.label("inviter_id"),
            inviter.c.username.label("inviter_username"),
            _member_count().label("member_count"),
            _owner_column(users.c.id).label("owner_id"),
            _owner_column(users.c.username).label("owner_username"),
        )
        .select_from(invitations)
        .join(rooms, rooms.c.id == invitations.c.room_id)
        .join(invitee, invitee.c.id == invitations.c.invitee_id)
        .join(inviter, inviter.c.id == invitations.c.inviter_id)
    )


def _invitation(row: RowMapping) -> Invitation:
    return Invitation(
        room=_room(row),
        invitee=User(id=row["invitee_id"], username=row["invitee_username"]),
        inviter=User(id=row["inviter_id"], username=row["inviter_username"]),
        created_at=row["invited_at"],
        owner=_owner(row),
        member_count=row["member_count"],
    )


async def _select_room(conn: AsyncConnection, where: ColumnElement[bool]) -> Room | None:
    row = (await conn.execute(select(rooms).where(where))).mappings().first()
    return None if row is None else _room(row)


def _room(row: RowMapping) -> Room:
    return Room(
        id=row["id"],
        name=row["name"],
        visibility=Visibility(row["visibility"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_seq=row["last_seq"],
    )


def _room_values(room: Room, *, dm_key: str | None) -> dict[str, Any]:
    return {
        "id": room.id,
        "name": room.name,
        "visibility": room.visibility.value,
        "created_by": room.created_by,
        "created_at": room.created_at,
        "last_seq": 0,
        "dm_key": dm_key,
    }


def _member_values(room_id: str, user_id: str, role: Role) -> dict[str, Any]:
    return {
        "room_id": room_id,
        "user_id": user_id,
        "role": role.value,
        "joined_at": datetime.now(UTC),
    }


def _joining_values(room_id: str, user_id: str, role: Role) -> dict[str, Any]:
    """A newcomer's membership: what was said before they came is not unread to them."""
    last_seq = select(rooms.c.last_seq).where(rooms.c.id == room_id).scalar_subquery()
    # coalesce: for an unknown room the foreign key, not NOT NULL, should object.
    return {**_member_values(room_id, user_id, role), "last_read_seq": func.coalesce(last_seq, 0)}


def _integrity_error(exc: IntegrityError, what: str) -> SealchatError:
    if dialect.is_foreign_key_violation(exc):
        return NotFound(f"the {what} refers to a user or room that does not exist")
    return Conflict(f"the {what} already exists")
