"""SQL storage for the identity provider: the ``idp_accounts`` and ``idp_refresh_tokens`` tables.

Each public method is one transaction. Refresh tokens are stored only as SHA-256 hex
digests; the tokens themselves never reach the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import Update, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sealchat.adapters.sql.errors import database_errors
from sealchat.adapters.sql.tables import idp_accounts as accounts
from sealchat.adapters.sql.tables import idp_refresh_tokens as tokens
from sealchat.adapters.sql.tables import users
from sealchat.domain.errors import Conflict


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    username: str


@dataclass(frozen=True, slots=True)
class AccountRecord:
    id: str
    username: str
    password_hash: str
    created_at: datetime
    failed_logins: int = 0
    locked_until: datetime | None = None
    # An operator disabled the account (the chat profile's ``disabled_at``).
    disabled: bool = False


@dataclass(frozen=True, slots=True)
class NewRefreshToken:
    token_hash: str
    family_id: str
    account_id: str
    created_at: datetime
    expires_at: datetime


class RefreshRefusal(StrEnum):
    """Why a refresh token was not exchanged."""

    UNKNOWN = "unknown"
    EXPIRED = "expired"
    REVOKED = "revoked"
    # Presented after it was used: a stolen copy, or a lost race. The family is revoked.
    REUSED = "reused"


class IdentityStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def create_account(
        self, account: AccountRecord, first_token: NewRefreshToken | None
    ) -> None:
        """Store a new account (and its first refresh token); ``Conflict`` if the name is taken."""
        try:
            async with database_errors(), self._engine.begin() as conn:
                await conn.execute(
                    accounts.insert().values(
                        id=account.id,
                        username=account.username,
                        password_hash=account.password_hash,
                        created_at=account.created_at,
                        failed_logins=0,
                    )
                )
                if first_token is not None:
                    await conn.execute(tokens.insert().values(**_token_values(first_token)))
        except IntegrityError as exc:
            raise Conflict("username is taken") from exc

    async def get_account_by_username(self, username: str) -> AccountRecord | None:
        query = select(
            accounts.c.id,
            accounts.c.username,
            accounts.c.password_hash,
            accounts.c.created_at,
            accounts.c.failed_logins,
            accounts.c.locked_until,
            users.c.disabled_at,
        )
        query = query.select_from(accounts.outerjoin(users, users.c.id == accounts.c.id)).where(
            accounts.c.username == username
        )
        async with database_errors(), self._engine.connect() as conn:
            row = (await conn.execute(query)).one_or_none()
        if row is None:
            return None
        return AccountRecord(
            id=row.id,
            username=row.username,
            password_hash=row.password_hash,
            created_at=row.created_at,
            failed_logins=row.failed_logins,
            locked_until=row.locked_until,
            disabled=row.disabled_at is not None,
        )

    async def record_failed_login(
        self, account_id: str, locked_until_for: Callable[[int], datetime | None]
    ) -> None:
        """Count one more failure, and lock the account as ``locked_until_for(count)`` says."""
        async with database_errors(), self._engine.begin() as conn:
            # Incremented in SQL, not read-modify-write, so concurrent failures all count.
            failures = (
                await conn.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id)
                    .values(failed_logins=accounts.c.failed_logins + 1)
                    .returning(accounts.c.failed_logins)
                )
            ).scalar_one_or_none()
            locked_until = None if failures is None else locked_until_for(failures)
            if locked_until is not None:
                await conn.execute(
                    update(accounts)
                    .where(accounts.c.id == account_id)
                    .values(locked_until=locked_until)
                )

    async def record_successful_login(
        self, account_id: str, new_password_hash: str | None, token: NewRefreshToken
    ) -> None:
        """Reset the failure count, store a rehashed password if any, issue a refresh token."""
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if new_password_hash is not None:
            values["password_hash"] = new_password_hash
        async with database_errors(), self._engine.begin() as conn:
            await conn.execute(update(accounts).where(accounts.c.id == account_id).values(values))
            await conn.execute(tokens.insert().values(**_token_values(token)))

    async def rotate_refresh_token(
        self,
        used_hash: str,
        replacement_hash: str,
        now: datetime,
        expires_at: datetime,
        reuse_grace: timedelta = timedelta(0),
    ) -> Account | RefreshRefusal:
        """Mark a refresh token used and issue its replacement in the same family.

        The conditional UPDATE comes first and decides: of two concurrent rotations of
        one token only one sees ``used_at IS NULL``; the other finds it used and, like any
        replay, revokes the family. Unless it comes within ``reuse_grace`` of that use and
        the token's successor is still unused (nobody refreshed after it): then the
        successor is spent in its place and the family goes on with the replacement.
        """
        async with database_errors(), self._engine.begin() as conn:
            claimed = await conn.execute(
                update(tokens)
                .where(
                    tokens.c.token_hash == used_hash,
                    tokens.c.used_at.is_(None),
                    tokens.c.revoked_at.is_(None),
                    tokens.c.expires_at > now,
                )
                .values(used_at=now, replaced_by=replacement_hash)
            )
            row = (
                await conn.execute(
                    select(
                        tokens.c.family_id,
                        tokens.c.account_id,
                        tokens.c.used_at,
                        tokens.c.revoked_at,
                        tokens.c.replaced_by,
                        accounts.c.username,
                        users.c.disabled_at,
                    )
                    .join(accounts, accounts.c.id == tokens.c.account_id)
                    .outerjoin(users, users.c.id == tokens.c.account_id)
                    .where(tokens.c.token_hash == used_hash)
                )
            ).one_or_none()
            if row is None:
                return RefreshRefusal.UNKNOWN
            if row.disabled_at is not None:
                # Disabling revoked every session; this closes the race with a refresh.
                await conn.execute(_revoke_family(row.family_id, now))
                return RefreshRefusal.REVOKED
            replacement = NewRefreshToken(
                replacement_hash, row.family_id, row.account_id, now, expires_at
            )
            if claimed.rowcount == 1:
                await conn.execute(tokens.insert().values(**_token_values(replacement)))
                return Account(id=row.account_id, username=row.username)
            if row.revoked_at is not None:
                return RefreshRefusal.REVOKED
            if row.used_at is not None:
                if now - row.used_at < reuse_grace and await _spend_successor(
                    conn, used_hash, row.replaced_by, replacement_hash, now
                ):
                    await conn.execute(tokens.insert().values(**_token_values(replacement)))
                    return Account(id=row.account_id, username=row.username)
                await conn.execute(_revoke_family(row.family_id, now))
                return RefreshRefusal.REUSED
            return RefreshRefusal.EXPIRED

    async def revoke_family(self, token_hash: str, now: datetime) -> str | None:
        """Revoke every token of the family ``token_hash`` belongs to; nothing if unknown.

        Returns the account whose session this ended, or None (unknown, already revoked).
        """
        family_id = select(tokens.c.family_id).where(tokens.c.token_hash == token_hash)
        account = select(tokens.c.account_id).where(tokens.c.token_hash == token_hash)
        async with database_errors(), self._engine.begin() as conn:
            ended = await conn.execute(_revoke_family(family_id.scalar_subquery(), now))
            if not ended.rowcount:
                return None
            return await conn.scalar(account)


async def _spend_successor(
    conn: AsyncConnection,
    used_hash: str,
    successor_hash: str | None,
    replacement_hash: str,
    now: datetime,
) -> bool:
    """Spend the (still unused) successor of a token presented again within the grace,
    and point both at the replacement; False when the successor was used or is gone."""
    if successor_hash is None:
        return False
    spent = await conn.execute(
        update(tokens)
        .where(
            tokens.c.token_hash == successor_hash,
            tokens.c.used_at.is_(None),
            tokens.c.revoked_at.is_(None),
            tokens.c.expires_at > now,
        )
        .values(used_at=now, replaced_by=replacement_hash)
    )
    if spent.rowcount != 1:
        return False
    # A second reload within the grace continues from the replacement, not the spent one.
    await conn.execute(
        update(tokens).where(tokens.c.token_hash == used_hash).values(replaced_by=replacement_hash)
    )
    return True


def _revoke_family(family_id: object, now: datetime) -> Update:
    return (
        update(tokens)
        .where(tokens.c.family_id == family_id, tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def _token_values(token: NewRefreshToken) -> dict[str, object]:
    return {
        "token_hash": token.token_hash,
        "family_id": token.family_id,
        "account_id": token.account_id,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
    }
