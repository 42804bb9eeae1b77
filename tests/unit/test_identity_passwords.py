"""argon2id hashing in worker threads."""

from __future__ import annotations

import asyncio
import threading

from sealchat.identity.passwords import PasswordHasher


def cheap_hasher(time_cost: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_kib=8, parallelism=1)


async def test_hash_is_argon2id_and_verifies() -> None:
    hasher = cheap_hasher()
    password_hash = await hasher.hash("correct horse")
    assert password_hash.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert await hasher.verify(password_hash, "correct horse")
    assert not await hasher.verify(password_hash, "wrong horse")


async def test_an_unusable_stored_hash_fails_verification() -> None:
    assert not await cheap_hasher().verify("not a hash", "correct horse")


async def test_needs_rehash_when_parameters_change() -> None:
    old = await cheap_hasher(time_cost=1).hash("correct horse")
    assert not cheap_hasher(time_cost=1).needs_rehash(old)
    assert cheap_hasher(time_cost=2).needs_rehash(old)
    assert cheap_hasher().needs_rehash("not a hash")


async def test_work_runs_off_the_event_loop_thread() -> None:
    hasher = cheap_hasher()
    threads: list[int] = []
    real = hasher._verify_sync

    def record(password_hash: str, password: str) -> bool:
        threads.append(threading.get_ident())
        return real(password_hash, password)

    hasher._verify_sync = record  # type: ignore[method-assign]
    await hasher.spend_verify("anything")
    await asyncio.gather(*(hasher.verify("x", "y") for _ in range(3)))
    assert threads and threading.get_ident() not in threads
