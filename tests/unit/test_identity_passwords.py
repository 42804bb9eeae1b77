"""argon2id hashing in worker threads."""

from __future__ import annotations

import asyncio
import threading

import pytest

from sealchat.domain.errors import Overloaded
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


async def test_a_full_hashing_queue_refuses_at_once() -> None:
    """Issue #16 item 5: a flood of sign-ins queued behind each other without bound."""
    hasher = PasswordHasher(
        time_cost=2, memory_kib=4096, parallelism=1, max_concurrency=1, max_queue=2
    )
    results = await asyncio.gather(
        *(hasher.hash(f"password {i}") for i in range(8)), return_exceptions=True
    )
    refused = [r for r in results if isinstance(r, Overloaded)]
    assert len(refused) == 5  # one running, two waiting, the rest refused
    assert all(r.retry_after >= 1 for r in refused)
    assert all(isinstance(r, str) for r in results if not isinstance(r, Overloaded))
    assert hasher.pending == 0
    assert await hasher.verify(str(results[0]), "password 0")  # usable again
    with pytest.raises(Overloaded):
        await asyncio.gather(*(hasher.verify(str(results[0]), "x") for _ in range(4)))
