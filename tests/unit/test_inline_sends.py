"""``message:send`` without a task per event (api/realtime_sends.py), on the real gateway,
service and group-commit writer with a fake committer, fan-out and socket (no network)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

import pytest

from sealchat.adapters.sql.group_commit import GroupCommitWriter, Outcome
from sealchat.api.deps import ApiServices
from sealchat.api.realtime import RealtimeGateway, RealtimeLimits
from sealchat.api.realtime_sends import InlineSends
from sealchat.domain.errors import Forbidden
from sealchat.domain.models import AppendResult, Message, NewMessage, User
from sealchat.services.messages import MessageService
from sealchat.services.rate_limit import TokenBucketLimiter
from tests.envelopes import opaque_envelope

CLOSED_ROOM = "closed"


class Committer:
    """Stores with the next seq; a message to ``CLOSED_ROOM`` is not stored (not a member)."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.seq = 0

    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        self.batches.append(len(batch))
        await asyncio.sleep(0.001)  # the database's time
        outcomes: list[Outcome] = []
        for m in batch:
            if m.room_id == CLOSED_ROOM:
                outcomes.append(None)
                continue
            self.seq += 1
            stored = Message(
                m.id, m.room_id, self.seq, m.sender_id, m.client_msg_id, m.envelope_json, created_at
            )
            outcomes.append(AppendResult(stored, created=True))
        return outcomes

    async def close(self) -> None:
        pass


class Rooms:
    async def require_member(self, user_id: str, room_id: str) -> None:
        raise Forbidden("not a member of this room")


class Wire:
    """The fan-out and the socket server's acks, in one log: what each socket would see."""

    def __init__(self, *, now: bool = False) -> None:
        self.log: list[tuple[str, Any]] = []
        self.now = now  # whether publish_now and send_ack_now can send at once
        self.broadcasts: list[int] = []  # messages per awaited broadcast

    async def publish(
        self, event: str, payload: dict[str, Any], channels: list[str], skip: str | None = None
    ) -> None:
        self.log.append(("new", payload["client_msg_id"]))
        self.broadcasts.append(1)

    async def publish_each(
        self,
        event: str,
        payloads: list[dict[str, Any]],
        channels: list[str],
        skip: str | None = None,
    ) -> None:
        assert len({p["room_id"] for p in payloads}) == 1
        self.log += [("new", payload["client_msg_id"]) for payload in payloads]
        self.broadcasts.append(len(payloads))

    def publish_now(
        self, event: str, payload: dict[str, Any], channels: list[str], skip: str | None = None
    ) -> bool:
        if not self.now:
            return False
        self.log.append(("new", payload["client_msg_id"]))
        return True

    async def send_ack(self, sid: str, ack_id: int, ack: dict[str, Any]) -> None:
        self.log.append(("ack", (ack_id, ack)))

    def send_ack_now(self, sid: str, ack_id: int, ack: dict[str, Any]) -> bool:
        if self.now:
            self.log.append(("ack", (ack_id, ack)))
        return self.now


class FakeSio:
    def on(self, event: str, handler: Any) -> None:
        pass


@pytest.mark.parametrize("now", [False, True], ids=["awaited", "at-once"])
async def test_sends_are_queued_inline_and_finished_in_order_by_one_task_per_batch(
    now: bool,
) -> None:
    # "at-once": the fan-out and the acks can send without waiting (a small room on the
    # fast lane), so each message is finished without a coroutine of its own.
    committer = Committer()
    writer = GroupCommitWriter(committer, queue_max=100, batch_max=8)
    writer.start()
    wire = Wire(now=now)
    messages = MessageService(
        cast(Any, None),
        cast(Any, Rooms()),
        cast(Any, wire),
        TokenBucketLimiter(1000, 1000),
        max_envelope_bytes=64 * 1024,
        history_page_max=100,
        sync_page_max=100,
        submitter=writer,
    )
    assert messages.can_submit
    limits = RealtimeLimits(sync=TokenBucketLimiter(1, 1), typing=TokenBucketLimiter(1, 1))
    gateway = RealtimeGateway(
        cast(Any, FakeSio()), cast(ApiServices, SimpleNamespace(messages=messages)), limits
    )
    timer = asyncio.get_running_loop().call_later(3600, lambda: None)
    gateway._sessions["s"] = (User("u", "alice"), time.time() + 3600, timer)
    gateway._pending["s"] = 0
    sends = InlineSends(gateway, messages, wire)

    loop = asyncio.get_running_loop()
    tasks: list[str] = []

    def counting_factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
        tasks.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting_factory)
    try:
        now: dict[int, Any] = {}
        for i in range(20):  # as if 20 packets of one socket were read in one go
            body: Any = {"room_id": "r", "client_msg_id": f"m{i}", "envelope": opaque_envelope("x")}
            if i == 5:
                body = {"room_id": "r"}  # refused at once, on its own
            if i == 7:
                body = {**body, "room_id": CLOSED_ROOM}  # not stored: refused after its batch
            ack = sends.handle("s", i, [body])
            if ack is not None:
                now[i] = ack
        assert list(now) == [5] and now[5]["error"]["code"] == "invalid_input"
        assert gateway._pending["s"] == 19
        while gateway._pending["s"]:
            await asyncio.sleep(0.001)
    finally:
        loop.set_task_factory(None)

    stored = [i for i in range(20) if i not in (5, 7)]
    # Broadcasts in the order sent, acks too, and each message's broadcast before its ack.
    answered = [(kind, what if kind == "new" else what[0]) for kind, what in wire.log]
    answered = [entry for entry in answered if entry != ("ack", 7)]
    assert [what for kind, what in answered if kind == "new"] == [f"m{i}" for i in stored]
    assert [what for kind, what in answered if kind == "ack"] == stored
    for i in stored:
        assert answered.index(("new", f"m{i}")) < answered.index(("ack", i))
    if wire.now:
        assert answered == [e for i in stored for e in (("new", f"m{i}"), ("ack", i))]
    else:
        # A big room's broadcasts (awaited): a batch's messages of one socket to one room
        # go out together, one broadcast (one write per recipient on the fast lane).
        assert sum(wire.broadcasts) == len(stored)
        assert max(wire.broadcasts) > 1
    acks = dict(what for kind, what in wire.log if kind == "ack")
    assert acks[7]["error"]["code"] == "forbidden"
    seqs = [acks[i]["message"]["seq"] for i in stored]
    assert seqs == list(range(1, 19))
    # No task per message: one to finish each batch, and one for the cold refusal.
    assert tasks.count("InlineSends._finish_all") <= len(committer.batches)
    assert tasks.count("InlineSends._refuse") == 1
    assert len(tasks) <= len(committer.batches) + 1
    timer.cancel()
    await writer.aclose()


async def test_without_an_instant_rate_limit_sends_keep_their_task() -> None:
    class SharedLimiter:
        async def take(self, key: str) -> None:
            pass

    writer = GroupCommitWriter(Committer(), queue_max=10, batch_max=8)
    messages = MessageService(
        cast(Any, None),
        cast(Any, Rooms()),
        cast(Any, Wire()),
        SharedLimiter(),
        max_envelope_bytes=1024,
        history_page_max=100,
        sync_page_max=100,
        submitter=writer,
    )
    assert not messages.can_submit
