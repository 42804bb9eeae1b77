"""Operators' decisions about accounts, as this server process knows them.

``sealchat admin`` changes accounts in the database from another process; every server
process re-reads the accounts that are disabled, or whose sessions were revoked recently,
every ``interval`` seconds. Until then nothing changes here; at that read, each newly
shut-out user's sockets are disconnected (on every node), and from then on their access
tokens are refused at connect and on every HTTP request. So the latency is at most
``interval`` (SEALCHAT_ACCOUNT_CHECK_SECONDS) plus one read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sealchat import metrics
from sealchat.domain.errors import SealchatError, Unauthorized
from sealchat.ports.tokens import VerifiedIdentity

log = logging.getLogger(__name__)

DISABLED = "this account is disabled"
REVOKED = "this session was ended by an administrator; sign in again"


class AccountControlStore(Protocol):
    async def account_controls(
        self, revoked_since: datetime
    ) -> list[tuple[str, datetime | None, datetime | None]]:
        """(user id, disabled_at, sessions_revoked_at) of every disabled user and every
        user whose sessions were revoked after ``revoked_since``."""


class AccountControls:
    def __init__(
        self,
        store: AccountControlStore,
        shut_out: Callable[[str], Awaitable[None]],
        *,
        interval: float,
        token_lifetime: float,
    ) -> None:
        self._store = store
        self._shut_out = shut_out
        self._interval = interval
        # Revocations older than the longest access token lifetime concern no live token.
        self._memory = timedelta(seconds=token_lifetime + 300)
        self._disabled: set[str] = set()
        self._revoked: dict[str, float] = {}

    def check(self, identity: VerifiedIdentity) -> None:
        """Refuse a disabled account, or a token issued before its sessions were revoked."""
        if identity.user_id in self._disabled:
            raise Unauthorized(DISABLED)
        revoked = self._revoked.get(identity.user_id)
        if revoked is not None and identity.issued_at <= revoked:
            raise Unauthorized(REVOKED)

    async def reload(self) -> None:
        since = datetime.now(UTC) - self._memory
        rows = await self._store.account_controls(since)
        disabled = {user_id for user_id, disabled_at, _ in rows if disabled_at is not None}
        revoked = {
            user_id: revoked_at.timestamp()
            for user_id, _, revoked_at in rows
            if revoked_at is not None and revoked_at > since
        }
        newly = (disabled - self._disabled) | {
            user_id for user_id, at in revoked.items() if self._revoked.get(user_id) != at
        }
        self._disabled, self._revoked = disabled, revoked
        for user_id in newly:
            log.info("closing the sockets of user %s: disabled or sessions revoked", user_id)
            metrics.ACCOUNTS_DISCONNECTED.inc()
            await self._shut_out(user_id)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Read once now (a restart knows at once), then every ``interval`` seconds."""
        with contextlib.suppress(SealchatError):
            await self._reload_quietly(first=True)

        async def loop() -> None:
            while True:
                await asyncio.sleep(self._interval)
                await self._reload_quietly(first=False)

        task = asyncio.create_task(loop(), name="sealchat-account-controls")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _reload_quietly(self, *, first: bool) -> None:
        started = time.monotonic()
        try:
            if first:
                # Users shut out before this start have no sockets here yet.
                since = datetime.now(UTC) - self._memory
                rows = await self._store.account_controls(since)
                self._disabled = {u for u, d, _ in rows if d is not None}
                self._revoked = {u: r.timestamp() for u, _, r in rows if r is not None}
            else:
                await self.reload()
        except SealchatError as exc:
            log.warning("could not read disabled accounts: %s", exc.message)
        except Exception:  # never let the loop die
            log.exception("reading disabled accounts failed")
        else:
            log.debug("account controls read in %.3f s", time.monotonic() - started)
