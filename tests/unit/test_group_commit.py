"""The group-commit writer's queue and batches, with a fake committer (no database)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

import pytest

from sealchat.adapters.sql.group_commit import GroupCommitWriter, Outcome
from sealchat.domain.errors import SealchatError, Unavailable
from sealchat.domain.models import AppendResult, Message, NewMessage


def new(n: int) -> NewMessage:
    return NewMessage(f"m{n}", "room", "alice", f"c{n}", "{}")


class FakeCommitter:
    """Stores every message with the next seq; can be told to fail or to hold a batch."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.fail_with: Exception | None = None
        self.gate: asyncio.Event | None = None
        self.closed = False

    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        self.batches.append([m.id for m in batch])
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        seq = sum(len(b) for b in self.batches[:-1])
        return [
            AppendResult(
                Message(
                    m.id, m.room_id, seq + i + 1, m.sender_id, m.client_msg_id, "{}", created_at
                ),
                created=True,
            )
            for i, m in enumerate(batch)
        ]

    async def close(self) -> None:
        self.closed = True


async def started(
    committer: FakeCommitter, *, interval: float = 0.0, **bounds: int
) -> GroupCommitWriter:
    writer = GroupCommitWriter(
        committer,
        queue_max=bounds.get("queue_max", 100),
        batch_max=bounds.get("batch_max", 10),
        interval=interval,
    )
    writer.start()
    return writer


class TimedCommitter(FakeCommitter):
    """Also notes when (the loop's clock) each batch began."""

    def __init__(self) -> None:
        super().__init__()
        self.began: list[float] = []

    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        self.began.append(asyncio.get_running_loop().time())
        return await super().commit(batch, created_at)


async def test_a_busy_writer_starts_one_batch_per_interval() -> None:
    committer = TimedCommitter()
    writer = await started(committer, interval=0.05)
    first = asyncio.gather(writer.append(new(0)), writer.append(new(1)))
    await asyncio.sleep(0)  # the first batch (two senders at once) starts now
    later = [asyncio.ensure_future(writer.append(new(n))) for n in range(2, 5)]
    await asyncio.sleep(0.01)
    assert committer.batches == [["m0", "m1"]]  # the others wait for the interval
    await asyncio.gather(first, *later)
    assert committer.batches == [["m0", "m1"], ["m2", "m3", "m4"]]
    assert committer.began[1] - committer.began[0] >= 0.045  # the loop's clock: ms ticks
    await writer.aclose()


async def test_a_lone_sender_never_waits_for_the_interval() -> None:
    committer = TimedCommitter()
    writer = await started(committer, interval=0.5)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    for n in range(5):  # each send waits for its ack: batches of one
        await writer.append(new(n))
    assert committer.batches == [[f"m{n}"] for n in range(5)]
    assert loop.time() - begun < 0.25
    await writer.aclose()


async def test_closing_does_not_wait_for_the_interval() -> None:
    committer = TimedCommitter()
    writer = await started(committer, interval=5.0)
    await asyncio.gather(writer.append(new(0)), writer.append(new(1)))
    waiting = asyncio.ensure_future(writer.append(new(2)))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(writer.aclose(), 1.0)
    assert committer.batches[-1] == ["m2"] or isinstance(waiting.exception(), Unavailable)


async def test_waiting_sends_share_batches_no_bigger_than_the_bound() -> None:
    committer = FakeCommitter()
    writer = await started(committer, batch_max=4)

    results = await asyncio.gather(*(writer.append(new(n)) for n in range(10)))

    assert committer.batches == [[f"m{n}" for n in range(k, min(k + 4, 10))] for k in (0, 4, 8)]
    assert [r.message.seq for r in results if r is not None] == list(range(1, 11))
    await writer.aclose()
    assert committer.closed


async def test_an_unexpected_failure_fails_its_batch_and_the_writer_goes_on() -> None:
    committer = FakeCommitter()
    writer = await started(committer)
    committer.fail_with = RuntimeError("a bug")

    with pytest.raises(SealchatError) as failed:
        await writer.append(new(1))
    assert type(failed.value) is SealchatError  # no driver exception leaks

    committer.fail_with = None
    assert await writer.append(new(2)) is not None
    await writer.aclose()


async def test_a_sender_that_gave_up_before_its_turn_is_not_stored() -> None:
    committer = FakeCommitter()
    committer.gate = asyncio.Event()
    writer = await started(committer)
    first = asyncio.ensure_future(writer.append(new(1)))
    await asyncio.sleep(0)  # the writer is now holding batch one at the gate
    gave_up = asyncio.ensure_future(writer.append(new(2)))
    kept = asyncio.ensure_future(writer.append(new(3)))
    await asyncio.sleep(0)
    gave_up.cancel()

    committer.gate.set()
    await asyncio.gather(first, kept)

    assert committer.batches == [["m1"], ["m3"]]
    await writer.aclose()


async def test_a_full_queue_refuses_while_a_batch_is_committing() -> None:
    committer = FakeCommitter()
    committer.gate = asyncio.Event()
    writer = await started(committer, queue_max=2)
    in_flight = asyncio.ensure_future(writer.append(new(0)))
    await asyncio.sleep(0)
    queued = [asyncio.ensure_future(writer.append(new(n))) for n in (1, 2)]
    await asyncio.sleep(0)

    with pytest.raises(Unavailable):
        await writer.append(new(3))

    committer.gate.set()
    await asyncio.gather(in_flight, *queued)
    assert committer.batches == [["m0"], ["m1", "m2"]]
    await writer.aclose()


async def test_closing_drains_the_queue_then_refuses() -> None:
    committer = FakeCommitter()
    writer = await started(committer, batch_max=2)
    sends = [asyncio.ensure_future(writer.append(new(n))) for n in range(5)]
    await asyncio.sleep(0)

    await writer.aclose()

    assert all(s.done() and s.result() is not None for s in sends)
    with pytest.raises(Unavailable):
        await writer.append(new(9))


async def test_submitted_messages_are_told_their_outcome_in_queue_order() -> None:
    committer = FakeCommitter()
    committer.gate = asyncio.Event()
    writer = await started(committer, queue_max=3, batch_max=2)
    told: list[tuple[str, Outcome]] = []

    def tell(name: str) -> Callable[[Outcome], None]:
        return lambda outcome: told.append((name, outcome))

    waiting = asyncio.ensure_future(writer.append(new(0)))
    while not committer.batches:  # until batch one (m0) is at the gate
        await asyncio.sleep(0)
    writer.submit(new(1), tell("m1"))

    def broken(outcome: Outcome) -> None:
        raise RuntimeError("a bug in a callback")

    writer.submit(new(2), broken)
    writer.submit(new(3), tell("m3"))
    with pytest.raises(Unavailable):  # the bound holds for submit too: nothing queued
        writer.submit(new(4), tell("m4"))
    committer.gate.set()
    await waiting
    while len(told) < 2:
        await asyncio.sleep(0)

    assert committer.batches == [["m0"], ["m1", "m2"], ["m3"]]
    assert [(name, o.message.seq) for name, o in told if isinstance(o, AppendResult)] == [
        ("m1", 2),
        ("m3", 4),
    ]
    await writer.aclose()


async def test_a_failed_batch_tells_each_submitter_its_own_error() -> None:
    committer = FakeCommitter()
    writer = await started(committer)
    committer.fail_with = Unavailable("the database is down")
    told: list[Outcome] = []
    for n in range(3):
        writer.submit(new(n), told.append)
    while len(told) < 3:
        await asyncio.sleep(0)

    assert all(isinstance(o, Unavailable) for o in told)
    assert len({id(o) for o in told}) == 3
    await writer.aclose()


async def test_closing_fails_submitted_messages_it_could_not_store() -> None:
    committer = FakeCommitter()
    committer.gate = asyncio.Event()  # never opens: the batch cannot commit
    writer = await started(committer)
    told: list[Outcome] = []
    writer.submit(new(1), told.append)
    await asyncio.sleep(0)
    writer.submit(new(2), told.append)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sealchat.adapters.sql.group_commit.DRAIN_SECONDS", 0.05)
        await writer.aclose()

    assert len(told) == 2 and all(isinstance(o, Unavailable) for o in told)
    with pytest.raises(Unavailable):
        writer.submit(new(3), told.append)
