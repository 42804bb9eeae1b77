"""The SQLite committer's two places to commit (adapters/sql/group_commit_sqlite.py): small
batches on the event loop, and the writer thread whenever the loop would have to wait."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealchat.adapters.sql import group_commit_sqlite
from sealchat.adapters.sql.group_commit_sqlite import LOOP_BATCH_MAX, SqliteCommitter
from sealchat.domain.models import AppendResult, NewMessage, Room, User
from tests.contract.test_storage_group_commit import _fresh_database


async def database(tmp_path: Path) -> tuple[str, Room, User]:
    path = tmp_path / "chat.db"
    engine, room, alice = await _fresh_database(f"sqlite+aiosqlite:///{path}")
    await engine.dispose()
    return str(path), room, alice


def batch(room: Room, user: User, start: int, count: int) -> list[NewMessage]:
    return [
        NewMessage(f"m{n}", room.id, user.id, f"c{n}", "{}") for n in range(start, start + count)
    ]


def seqs(outcomes: Sequence[object]) -> list[int]:
    return [o.message.seq for o in outcomes if isinstance(o, AppendResult)]


async def test_small_batches_commit_on_the_loop_and_big_ones_on_the_thread(
    tmp_path: Path,
) -> None:
    path, room, alice = await database(tmp_path)
    committer = SqliteCommitter(path)
    now = datetime.now(UTC)
    try:
        # The first batch connects, on the thread; then small ones stay on the loop.
        assert seqs(await committer.commit(batch(room, alice, 0, 2), now)) == [1, 2]
        assert seqs(await committer.commit(batch(room, alice, 2, 3), now)) == [3, 4, 5]
        big = await committer.commit(batch(room, alice, 5, LOOP_BATCH_MAX + 1), now)
        assert seqs(big) == list(range(6, 6 + LOOP_BATCH_MAX + 1))
        assert (committer.batches_on_thread, committer.batches_on_loop) == (2, 1)
    finally:
        await committer.close()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*), max(seq) FROM messages").fetchone() == (
            LOOP_BATCH_MAX + 6,
            LOOP_BATCH_MAX + 6,
        )


async def test_a_held_write_lock_sends_the_batch_to_the_thread_which_waits(
    tmp_path: Path,
) -> None:
    path, room, alice = await database(tmp_path)
    committer = SqliteCommitter(path)
    now = datetime.now(UTC)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        await committer.commit(batch(room, alice, 0, 1), now)  # connected
        other.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
        pending = asyncio.ensure_future(committer.commit(batch(room, alice, 1, 2), now))
        # The loop is not held: this runs while the writer thread waits for the lock.
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not pending.done()
        other.execute("ROLLBACK")
        assert seqs(await pending) == [2, 3]
        assert committer.batches_on_loop == 0 and committer.batches_on_thread == 2
        # For a while after, batches keep to the thread.
        await committer.commit(batch(room, alice, 3, 1), now)
        assert committer.batches_on_thread == 3
    finally:
        other.close()
        await committer.close()


async def test_slow_commits_on_the_loop_send_the_next_batches_to_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, room, alice = await database(tmp_path)
    committer = SqliteCommitter(path)
    now = datetime.now(UTC)
    n = 0

    async def one() -> None:
        nonlocal n
        await committer.commit(batch(room, alice, n, 1), now)
        n += 1

    try:
        await one()  # connects, on the thread
        monkeypatch.setattr(group_commit_sqlite, "SLOW_COMMIT_SECONDS", 0.0)  # all "slow"
        for _ in range(group_commit_sqlite.SLOW_OF_LAST):  # one now and then is tolerated
            await one()
        assert committer.batches_on_loop == group_commit_sqlite.SLOW_OF_LAST
        await one()  # too many: the thread, for a while
        assert committer.batches_on_thread == 2

        committer._thread_until = 0.0  # that while is over
        monkeypatch.setattr(group_commit_sqlite, "SLOW_COMMIT_SECONDS", 1.0)
        monkeypatch.setattr(group_commit_sqlite, "STALL_COMMIT_SECONDS", 0.0)
        await one()  # one commit that stalls the loop is enough
        await one()
        assert committer.batches_on_thread == 3
        assert committer.batches_on_loop == group_commit_sqlite.SLOW_OF_LAST + 1
    finally:
        await committer.close()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*), max(seq) FROM messages").fetchone() == (n, n)


async def test_checkpoints_run_on_their_own_thread_and_the_wal_is_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(group_commit_sqlite, "CHECKPOINT_EVERY", 4)
    path, room, alice = await database(tmp_path)
    committer = SqliteCommitter(path)
    now = datetime.now(UTC)
    wal = Path(path + "-wal")
    sizes = []
    try:
        for round_ in range(3):
            for n in range(40):
                await committer.commit(batch(room, alice, round_ * 1000 + n, 1), now)
                while committer._checkpointer._running:  # its turn (otherwise this would
                    await asyncio.sleep(0.001)  # race it on a busy machine)
            sizes.append(wal.stat().st_size)
        # The writer's own connection does no checkpoints; the checkpointer's let the
        # WAL start over, so it stops growing with the messages.
        assert committer._checkpointer.checkpoints > 0
        assert sizes[2] < 2 * sizes[0], sizes  # without checkpoints: 3 times
    finally:
        await committer.close()
    with sqlite3.connect(path) as check:
        assert check.execute("SELECT count(*) FROM messages").fetchone() == (120,)
