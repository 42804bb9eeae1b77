"""Revocations that reach the key service even when it is down, refuses, or the chat
server restarts: an outbox in the chat database, delivered with backoff.

When a membership ends, ``RoomService`` (right after the commit) calls ``revoke``: the
time is taken then, so it is later than any grant whose membership check saw the member
(grants are stamped before their check, see ``services.grants``); the notice is written
to the outbox and sent at once. A notice the key service does not accept stays in the
outbox and is re-sent by ``run`` with exponential backoff until accepted, and every
pending one is re-sent when the chat server starts. Each attempt signs a fresh notice
(notices live 300 s) carrying the recorded ``revoked_at_ms``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

from sealchat.domain.errors import RateLimited, SealchatError
from sealchat.ports.key_access import PendingRevocation, RevocationOutbox, RevocationSender
from sealchat.services.grants import GrantSigner

log = logging.getLogger(__name__)

BATCH = 100


def backoff_delay(attempts: int, initial: float, maximum: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (1, 2, ...)."""
    exponent = max(0, min(attempts - 1, 30))
    return float(min(maximum, initial * 2.0**exponent))


class RevocationDelivery:
    """The chat server's ``KeyAccessRevoker``: durable, retried, at-least-once."""

    def __init__(
        self,
        outbox: RevocationOutbox,
        sender: RevocationSender,
        signer: GrantSigner,
        *,
        initial_delay: float = 1.0,
        max_delay: float = 60.0,
        attempt_timeout: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._outbox = outbox
        self._sender = sender
        self._signer = signer
        self._initial = initial_delay
        self._max = max(max_delay, initial_delay)
        self._attempt_timeout = attempt_timeout
        self._clock = clock
        self._wake = asyncio.Event()

    async def revoke(self, user_id: str, room_id: str) -> None:
        """Record the revocation, then try to deliver it at once (the removal normally
        answers after the key service has it); retried in the background if not."""
        revoked_at_ms = int(self._signer.now() * 1000)
        # Not due for the background loop while this first attempt is under way.
        first_try_until = self._at(self._attempt_timeout + self._initial)
        pending = await self._outbox.add(user_id, room_id, revoked_at_ms, first_try_until)
        await self._attempt(pending)

    async def run(self) -> None:
        """Deliver pending notices until cancelled: every one at start-up, then each when
        it is due."""
        everything = True
        while True:
            self._wake.clear()  # before reading: a failure recorded from now on wakes us
            try:
                await self._deliver_due(everything)
                everything = False
                wait = await self._seconds_to_next()
            except SealchatError as exc:  # the chat database is down: try again later
                log.warning("revocation outbox unavailable: %s", exc.message)
                wait = self._max
            except Exception:  # never let the delivery loop die
                log.exception("revocation delivery failed")
                wait = self._max
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the delivery loop in the background for the duration of the block."""
        task = asyncio.create_task(self.run(), name="revocation-delivery")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver_due(self, everything: bool) -> None:
        until = None if everything else self._at(0)
        for pending in await self._outbox.due(until, BATCH):
            await self._attempt(pending)

    async def _seconds_to_next(self) -> float:
        next_at = await self._outbox.next_attempt_at()
        if next_at is None:
            return self._max
        return min(self._max, max(0.0, next_at.timestamp() - self._clock()))

    async def _attempt(self, pending: PendingRevocation) -> bool:
        notice = self._signer.revocation(
            pending.user_id, pending.room_id, revoked_at_ms=pending.revoked_at_ms
        )
        try:
            await asyncio.wait_for(self._sender.send(notice), timeout=self._attempt_timeout)
        except (SealchatError, TimeoutError) as exc:
            await self._failed(pending, exc)
            return False
        except Exception as exc:  # a bug in a sender must not lose the notice
            log.exception("revocation sender failed")
            await self._failed(pending, exc)
            return False
        await self._outbox.delivered(pending.id)
        if pending.attempts:
            log.info(
                "revocation for a room delivered to the key service after %d retries",
                pending.attempts,
            )
        return True

    async def _failed(self, pending: PendingRevocation, exc: Exception) -> None:
        attempts = pending.attempts + 1
        delay = backoff_delay(attempts, self._initial, self._max)
        if isinstance(exc, RateLimited):
            delay = min(self._max, max(delay, exc.retry_after))
        if isinstance(exc, SealchatError):
            reason = exc.message
        elif isinstance(exc, TimeoutError):
            reason = "timed out"
        else:
            reason = f"unexpected error: {exc!r}"
        log.warning(
            "could not revoke key access for a room (attempt %d, retrying in %.1f s): %s",
            attempts,
            delay,
            reason,
        )
        await self._outbox.failed(pending.id, self._at(delay), reason)
        self._wake.set()  # the loop re-reads when the next attempt is due

    def _at(self, seconds: float) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC) + timedelta(seconds=seconds)
