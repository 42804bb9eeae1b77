"""The revocation outbox on every storage backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.revocation_outbox import SqlRevocationOutbox
from sealchat.ports.key_access import PendingRevocation


async def test_pending_notices_are_due_in_order_until_delivered(engine: AsyncEngine) -> None:
    outbox = SqlRevocationOutbox(engine)
    now = datetime.now(UTC)
    assert await outbox.next_attempt_at() is None
    first = await outbox.add("user-1", "room-1", 1_795_680_234_512, now - timedelta(seconds=1))
    later = await outbox.add("user-2", "room-1", 1_795_680_234_999, now + timedelta(hours=1))
    assert first == PendingRevocation(first.id, "user-1", "room-1", 1_795_680_234_512, 0)

    assert await outbox.due(now, 10) == [first]
    assert await outbox.due(None, 10) == [first, later]  # every one, as at start-up
    next_at = await outbox.next_attempt_at()
    assert next_at is not None and abs((next_at - (now - timedelta(seconds=1))).total_seconds()) < 1

    retry_at = now + timedelta(minutes=5)
    await outbox.failed(first.id, retry_at, "the key service is unreachable " + "x" * 1000)
    assert await outbox.due(now, 10) == []
    [retried, _] = await outbox.pending()
    assert retried.attempts == 1 and retried.revoked_at_ms == first.revoked_at_ms

    await outbox.delivered(first.id)
    assert await outbox.pending() == [later]
