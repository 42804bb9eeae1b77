"""What ``sealchat admin`` does to the chat database: accounts and rooms, one transaction each.

It runs in its own process beside a running server. The server learns of disabled
accounts and revoked sessions by re-reading them (services/accounts.py), and of ended
memberships through the revocation outbox it already delivers to the key service.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, Select, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import (
    idp_accounts,
    idp_refresh_tokens,
    invitations,
    memberships,
    messages,
    revocation_outbox,
    rooms,
    users,
)
from sealchat.domain.errors import Conflict, InvalidInput, NotFound
from sealchat.domain.models import Role, Visibility


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: str
    username: str
    created_at: datetime
    disabled_at: datetime | None
    sessions_revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: str
    name: str
    visibility: str
    owner: str | None
    members: int
    last_seq: int  # messages ever sent
    created_at: datetime
    retention_days: int | None = None  # None: the server's default


class SqlAdmin:
    def __init__(self, engine: AsyncEngine, clock: Callable[[], datetime] = utc_now) -> None:
        self._engine = engine
        self._clock = clock

    # -- accounts ---------------------------------------------------------------------

    async def list_users(self) -> list[UserRow]:
        query = select(users).order_by(users.c.username)
        async with database_errors(), self._engine.connect() as conn:
            return [_user_row(row) for row in (await conn.execute(query)).mappings()]

    async def find_user(self, name_or_id: str) -> UserRow:
        query = select(users).where(
            or_(users.c.id == name_or_id, users.c.username == name_or_id.lower())
        )
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            raise NotFound(f"no user {name_or_id!r}")
        return _user_row(row)

    async def set_disabled(self, user_id: str, disabled: bool) -> int:
        """Disable (every session revoked with it) or enable an account; returns how many
        refresh tokens were revoked."""
        now = self._clock()
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(disabled_at=now if disabled else None)
            )
            return await _revoke_refresh_tokens(conn, user_id, now) if disabled else 0

    async def revoke_sessions(self, user_id: str) -> int:
        """End every session: refresh tokens revoked, access tokens issued until now refused."""
        now = self._clock()
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(
                update(users).where(users.c.id == user_id).values(sessions_revoked_at=now)
            )
            return await _revoke_refresh_tokens(conn, user_id, now)

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """A new password for an embedded account; its lockout and sessions end with it."""
        now = self._clock()
        async with database_errors(), self._engine.begin() as conn:
            changed = await conn.execute(
                update(idp_accounts)
                .where(idp_accounts.c.id == user_id)
                .values(password_hash=password_hash, failed_logins=0, locked_until=None)
            )
            if not changed.rowcount:
                raise NotFound("this account signs in elsewhere (OIDC or Cognito), not here")
            await conn.execute(
                update(users).where(users.c.id == user_id).values(sessions_revoked_at=now)
            )
            await _revoke_refresh_tokens(conn, user_id, now)

    # -- rooms ------------------------------------------------------------------------

    async def list_rooms(self) -> list[RoomRow]:
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(_room_query())).mappings().all()
        return [_room_row(row) for row in rows]

    async def find_room(self, name_or_id: str) -> RoomRow:
        query = _room_query().where(or_(rooms.c.id == name_or_id, rooms.c.name == name_or_id))
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        if not rows:
            raise NotFound(f"no room {name_or_id!r}")
        exact = [row for row in rows if row["id"] == name_or_id]
        if len(rows) > 1 and not exact:
            ids = ", ".join(row["id"] for row in rows)
            raise Conflict(f"several rooms are named {name_or_id!r}: use an id ({ids})")
        return _room_row((exact or rows)[0])

    async def delete_room(self, room_id: str) -> int:
        """Delete a room with its messages (envelopes and all), memberships and
        invitations; every member's key access is revoked through the outbox. Returns
        how many members it had."""
        now = self._clock()
        async with database_errors(), self._engine.begin() as conn:
            members = list(
                (
                    await conn.execute(
                        select(memberships.c.user_id).where(memberships.c.room_id == room_id)
                    )
                ).scalars()
            )
            await conn.execute(messages.delete().where(messages.c.room_id == room_id))
            await conn.execute(invitations.delete().where(invitations.c.room_id == room_id))
            await conn.execute(memberships.delete().where(memberships.c.room_id == room_id))
            gone = await conn.execute(rooms.delete().where(rooms.c.id == room_id))
            if not gone.rowcount:
                raise NotFound("no such room")
            revoked_at_ms = int(now.timestamp() * 1000)
            for user_id in members:
                # Delivered by the running server's revocation loop (at most its
                # SEALCHAT_REVOCATION_RETRY_MAX_SECONDS later).
                await conn.execute(
                    revocation_outbox.insert().values(
                        user_id=user_id,
                        room_id=room_id,
                        revoked_at_ms=revoked_at_ms,
                        created_at=now,
                        attempts=0,
                        next_attempt_at=now - timedelta(seconds=1),
                    )
                )
        return len(members)

    async def set_retention(self, room_id: str, days: int | None) -> None:
        """Keep the room's messages ``days`` days (None: the server's default)."""
        if days is not None and days < 1:
            raise InvalidInput("a retention period is at least 1 day")
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(
                update(rooms).where(rooms.c.id == room_id).values(retention_days=days)
            )

    async def transfer_room(self, room_id: str, new_owner_id: str) -> None:
        """Make a member the room's owner; the previous owners become members."""
        async with database_errors(), self._engine.begin() as conn:
            room = (
                await conn.execute(select(rooms.c.visibility).where(rooms.c.id == room_id))
            ).scalar_one_or_none()
            if room is None:
                raise NotFound("no such room")
            if room == Visibility.DIRECT.value:
                raise InvalidInput("a direct room has no owner to change")
            member = memberships.c.room_id == room_id
            role = (
                await conn.execute(
                    select(memberships.c.role).where(member, memberships.c.user_id == new_owner_id)
                )
            ).scalar_one_or_none()
            if role is None:
                raise InvalidInput("the new owner must be a member of the room")
            await conn.execute(
                update(memberships)
                .where(member, memberships.c.role == Role.OWNER.value)
                .values(role=Role.MEMBER.value)
            )
            await conn.execute(
                update(memberships)
                .where(member, memberships.c.user_id == new_owner_id)
                .values(role=Role.OWNER.value)
            )


async def _revoke_refresh_tokens(conn: AsyncConnection, user_id: str, now: datetime) -> int:
    result = await conn.execute(
        update(idp_refresh_tokens)
        .where(
            idp_refresh_tokens.c.account_id == user_id, idp_refresh_tokens.c.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)


def _room_query() -> Select[Any]:
    owner = (
        select(users.c.username)
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.room_id == rooms.c.id, memberships.c.role == Role.OWNER.value)
        .order_by(memberships.c.joined_at)
        .limit(1)
        .correlate(rooms)
        .scalar_subquery()
    )
    members = (
        select(func.count())
        .select_from(memberships)
        .where(memberships.c.room_id == rooms.c.id)
        .correlate(rooms)
        .scalar_subquery()
    )
    return select(
        rooms.c.id,
        rooms.c.name,
        rooms.c.visibility,
        rooms.c.created_at,
        rooms.c.last_seq,
        rooms.c.retention_days,
        owner.label("owner"),
        members.label("members"),
    ).order_by(func.lower(rooms.c.name), rooms.c.id)


def _user_row(row: RowMapping) -> UserRow:
    return UserRow(
        id=row["id"],
        username=row["username"],
        created_at=row["created_at"],
        disabled_at=row["disabled_at"],
        sessions_revoked_at=row["sessions_revoked_at"],
    )


def _room_row(row: RowMapping) -> RoomRow:
    return RoomRow(
        id=row["id"],
        name=row["name"],
        visibility=row["visibility"],
        owner=row["owner"],
        members=int(row["members"]),
        last_seq=int(row["last_seq"]),
        created_at=row["created_at"],
        retention_days=row["retention_days"],
    )
