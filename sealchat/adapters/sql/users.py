"""User profiles: the chat's copy of who people are (ids come from the identity provider)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import RowMapping, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql import dialect
from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import users
from sealchat.domain.errors import Conflict
from sealchat.domain.models import User


class SqlUserStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def upsert_user(self, user: User) -> None:
        values = {"id": user.id, "username": user.username, "created_at": datetime.now(UTC)}
        async with database_errors():
            try:
                async with self._engine.begin() as conn:
                    await dialect.upsert(
                        conn, users, values, key=[users.c.id], update_columns=["username"]
                    )
            except IntegrityError as exc:
                # The only other unique column: another user already has that name.
                raise Conflict(f"the username {user.username!r} is taken") from exc

    async def get_user(self, user_id: str) -> User | None:
        async with database_errors(), self._engine.begin() as conn:
            query = select(users).where(users.c.id == user_id)
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _user(row)

    async def get_user_by_username(self, username: str) -> User | None:
        async with database_errors(), self._engine.begin() as conn:
            query = select(users).where(users.c.username == username)
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else _user(row)

    async def account_controls(
        self, revoked_since: datetime
    ) -> list[tuple[str, datetime | None, datetime | None]]:
        query = select(users.c.id, users.c.disabled_at, users.c.sessions_revoked_at).where(
            or_(users.c.disabled_at.is_not(None), users.c.sessions_revoked_at > revoked_since)
        )
        async with database_errors(), self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [(row.id, row.disabled_at, row.sessions_revoked_at) for row in rows]


def _user(row: RowMapping) -> User:
    return User(id=row["id"], username=row["username"])
