"""argon2id password hashing that never blocks the event loop.

Hashing costs tens of milliseconds and tens of MiB by design, so every hash and verify
runs in a worker thread, and a semaphore bounds how many run at once: a burst of sign-ins
then queues instead of exhausting memory. The queue is bounded too: past ``max_queue``
waiting hashes a sign-in is refused at once (``Overloaded``, a 503 with Retry-After)
instead of making every sign-in, real ones included, wait behind a flood.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TypeVar

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

from sealchat import metrics
from sealchat.domain.errors import Overloaded

log = logging.getLogger(__name__)
T = TypeVar("T")
# Retry-After for a refused hash: a few hashing rounds' worth.
OVERLOADED_RETRY_SECONDS = 2.0


class PasswordHasher:
    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        max_concurrency: int | None = None,
        max_queue: int | None = None,
    ) -> None:
        """``max_queue``: hashes allowed to wait for a slot (None: unbounded)."""
        self._argon2 = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        # Four at a time keep a few cores busy while capping memory at 4 x memory_kib.
        concurrency = max_concurrency or min(4, os.cpu_count() or 1)
        self._slots = asyncio.Semaphore(concurrency)
        self._max_pending = None if max_queue is None else concurrency + max_queue
        self._pending = 0  # running plus waiting
        self._dummy_hash: str | None = None

    @property
    def pending(self) -> int:
        return self._pending

    async def hash(self, password: str) -> str:
        return await self._run(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False for a mismatch or an unusable hash."""
        return await self._run(self._verify_sync, password_hash, password)

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        async with self._admitted():
            return await asyncio.to_thread(work, *args)

    @asynccontextmanager
    async def _admitted(self) -> AsyncIterator[None]:
        if self._max_pending is not None and self._pending >= self._max_pending:
            metrics.AUTH_THROTTLED.labels("hash_queue").inc()
            raise Overloaded(
                "the server is busy checking passwords; try again shortly",
                retry_after=OVERLOADED_RETRY_SECONDS,
            )
        self._pending += 1
        try:
            async with self._slots:
                yield
        finally:
            self._pending -= 1

    async def spend_verify(self, password: str) -> None:
        """Cost as much as a real verify, for a username that does not exist.

        Answering unknown usernames faster than wrong passwords would tell an attacker
        which usernames exist.
        """
        if self._dummy_hash is None:
            # Hashed with the current parameters, so it costs what a real hash costs.
            self._dummy_hash = await self.hash("not the password of any account")
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return self._argon2.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._argon2.verify(password_hash, password)
        except InvalidHashError:
            log.warning("a stored password hash is not a valid argon2 hash")
            return False
        except VerificationError:  # includes VerifyMismatchError
            return False
