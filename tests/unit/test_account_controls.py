"""services/accounts.py: who is shut out, and who gets disconnected when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from sealchat.domain.errors import Unauthorized
from sealchat.ports.tokens import VerifiedIdentity
from sealchat.services.accounts import AccountControls

Row = tuple[str, datetime | None, datetime | None]


class FakeStore:
    def __init__(self) -> None:
        self.rows: list[Row] = []

    async def account_controls(self, revoked_since: datetime) -> list[Row]:
        return [r for r in self.rows if r[1] is not None or (r[2] and r[2] > revoked_since)]


def identity(user_id: str, issued_at: float) -> VerifiedIdentity:
    return VerifiedIdentity(user_id, user_id, expires_at=issued_at + 900, issued_at=issued_at)


async def test_newly_disabled_or_revoked_users_are_shut_out_once() -> None:
    store, closed = FakeStore(), []

    async def shut_out(user_id: str) -> None:
        closed.append(user_id)

    controls = AccountControls(store, shut_out, interval=1, token_lifetime=900)
    now = datetime.now(UTC)
    store.rows = [("ann", now, None), ("bob", None, now)]
    await controls.reload()
    await controls.reload()
    assert sorted(closed) == ["ann", "bob"]
    with pytest.raises(Unauthorized, match="disabled"):
        controls.check(identity("ann", now.timestamp() + 10))
    with pytest.raises(Unauthorized, match="sign in again"):
        controls.check(identity("bob", now.timestamp() - 10))
    controls.check(identity("bob", now.timestamp() + 1))  # a token issued after it
    controls.check(identity("cid", now.timestamp()))

    # Enabled again: accepted at the next read. A second revocation closes bob again.
    later = now + timedelta(seconds=5)
    store.rows = [("bob", None, later)]
    await controls.reload()
    controls.check(identity("ann", now.timestamp()))
    assert closed.count("bob") == 2
