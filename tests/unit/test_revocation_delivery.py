"""Revocation notices survive a key service that is down or refuses, and a restart of the
chat server: the outbox in the chat database, retried with backoff (issue #16, item 3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import jwt
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.migrate import upgrade_to_head
from sealchat.adapters.sql.revocation_outbox import SqlRevocationOutbox
from sealchat.domain.errors import RateLimited, Unavailable
from sealchat.identity.keys import SigningKey
from sealchat.services.grants import GrantSigner
from sealchat.services.revocations import RevocationDelivery, backoff_delay

SIGNER = GrantSigner(
    SigningKey.generate(), issuer="http://chat.test", audience="sealchat-kms", ttl_seconds=120
)


class Sender:
    """A key service that refuses the first ``failures`` notices."""

    def __init__(self, failures: int = 0, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or Unavailable("the key service is unreachable")
        self.accepted: list[dict[str, object]] = []
        self.refused = 0

    async def send(self, notice: str) -> None:
        if self.failures > 0:
            self.failures -= 1
            self.refused += 1
            raise self.error
        self.accepted.append(jwt.decode(notice, options={"verify_signature": False}))


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"
    await upgrade_to_head(url)
    engine = create_engine(url)
    yield engine
    await engine.dispose()


def delivery(
    engine: AsyncEngine, sender: Sender, initial: float = 0.01, maximum: float = 0.05
) -> RevocationDelivery:
    return RevocationDelivery(
        SqlRevocationOutbox(engine), sender, SIGNER, initial_delay=initial, max_delay=maximum
    )


async def wait_until_delivered(outbox: SqlRevocationOutbox, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while await outbox.pending():
        assert time.monotonic() < deadline, "the notice was never delivered"
        await asyncio.sleep(0.02)


def test_backoff_doubles_up_to_the_maximum() -> None:
    delays = [backoff_delay(n, 1.0, 60.0) for n in range(1, 10)]
    assert delays == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert backoff_delay(10_000, 1.0, 60.0) == 60


async def test_an_accepted_notice_leaves_nothing_pending(engine: AsyncEngine) -> None:
    sender = Sender()
    before_ms = int(time.time() * 1000)
    await delivery(engine, sender).revoke("user-1", "room-1")
    [notice] = sender.accepted
    assert (notice["sub"], notice["room_id"]) == ("user-1", "room-1")
    assert notice["typ"] == "sealchat-room-revocation"
    assert isinstance(notice["revoked_at_ms"], int) and notice["revoked_at_ms"] >= before_ms
    assert await SqlRevocationOutbox(engine).pending() == []


async def test_a_refused_notice_is_retried_until_accepted(engine: AsyncEngine) -> None:
    sender, outbox = Sender(failures=4), SqlRevocationOutbox(engine)
    revoker = delivery(engine, sender)
    await revoker.revoke("user-1", "room-1")  # refused: stays in the outbox
    [pending] = await outbox.pending()
    assert pending.attempts == 1 and sender.accepted == []

    async with revoker.running():
        await wait_until_delivered(outbox)
    assert sender.refused == 4
    [notice] = sender.accepted
    # Re-signed for the attempt, but dated when the membership ended.
    assert notice["revoked_at_ms"] == pending.revoked_at_ms
    assert notice["iat_ms"] > pending.revoked_at_ms  # type: ignore[operator]


async def test_the_key_services_retry_after_is_respected(engine: AsyncEngine) -> None:
    sender = Sender(failures=1, error=RateLimited("slow down", retry_after=30))
    outbox = SqlRevocationOutbox(engine)
    await delivery(engine, sender, initial=0.01, maximum=120).revoke("user-1", "room-1")
    next_at = await outbox.next_attempt_at()
    assert next_at is not None and next_at.timestamp() >= time.time() + 25


async def test_pending_notices_are_sent_when_the_chat_server_starts(engine: AsyncEngine) -> None:
    # The key service is down when bob is removed, and the chat server then stops.
    down = Sender(failures=1_000)
    await delivery(engine, down, initial=3600, maximum=3600).revoke("user-bob", "room-1")
    [pending] = await SqlRevocationOutbox(engine).pending()

    # A new process on the same database: the notice is not due for an hour, but every
    # pending notice is sent at start-up.
    up = Sender()
    async with delivery(engine, up, initial=3600, maximum=3600).running():
        await wait_until_delivered(SqlRevocationOutbox(engine))
    [notice] = up.accepted
    assert (notice["sub"], notice["revoked_at_ms"]) == ("user-bob", pending.revoked_at_ms)


async def test_a_notice_that_hangs_is_retried(engine: AsyncEngine) -> None:
    class Hanging(Sender):
        async def send(self, notice: str) -> None:
            if not self.refused:
                self.refused += 1
                await asyncio.sleep(3600)
            await super().send(notice)

    sender, outbox = Hanging(), SqlRevocationOutbox(engine)
    revoker = RevocationDelivery(
        outbox, sender, SIGNER, initial_delay=0.01, max_delay=0.05, attempt_timeout=0.1
    )
    await revoker.revoke("user-1", "room-1")
    async with revoker.running():
        await wait_until_delivered(outbox)
    assert len(sender.accepted) == 1
