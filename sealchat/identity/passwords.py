"""argon2id password hashing that never blocks the event loop.

Hashing costs tens of milliseconds and tens of MiB by design, so every hash and verify
runs in a worker thread, and a semaphore bounds how many run at once: a burst of sign-ins
then queues instead of exhausting memory.
"""

from __future__ import annotations

import asyncio
import logging
import os

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError

log = logging.getLogger(__name__)


class PasswordHasher:
    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        max_concurrency: int | None = None,
    ) -> None:
        self._argon2 = _Argon2(
            time_cost=time_cost,
            memory_cost=memory_kib,
            parallelism=parallelism,
            type=Type.ID,
        )
        # Four at a time keep a few cores busy while capping memory at 4 x memory_kib.
        self._slots = asyncio.Semaphore(max_concurrency or min(4, os.cpu_count() or 1))
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._argon2.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False for a mismatch or an unusable hash."""
        async with self._slots:
            return await asyncio.to_thread(self._verify_sync, password_hash, password)

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
