"""Group commit: one writer per database stores every waiting message in one transaction.

Senders put their message on a bounded queue and wait. The writer takes whatever is
waiting (at most ``batch_max``), hands the whole batch to a dialect's committer (one thread
hop on SQLite, one round trip on PostgreSQL) and, once the batch has committed, resolves
each sender with its own outcome. While a batch commits the next one gathers, so the
busier the server, the bigger the batches and the cheaper each message.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from sealchat import metrics
from sealchat.domain.errors import SealchatError, Unavailable
from sealchat.domain.models import AppendResult, NewMessage
from sealchat.ports.storage import StoreOutcome

log = logging.getLogger(__name__)

# What one message of a batch came to: stored (or its original, for a resend), None for
# a sender who is not a member, or the error that message alone failed with.
Outcome = StoreOutcome

# How long closing waits for the queue to drain before failing what is left.
DRAIN_SECONDS = 10.0


class BatchCommitter(Protocol):
    async def commit(self, batch: Sequence[NewMessage], created_at: datetime) -> list[Outcome]:
        """Store ``batch`` in one transaction; one outcome per message, in order.

        Raises ``Unavailable`` when the database cannot be reached: nothing was stored.
        """

    async def close(self) -> None: ...


# Told a message's outcome once its batch has committed (or failed), on the event loop,
# in batch order. It must not raise; an ``Unavailable`` may come before anything commits.
OnStored = Callable[[Outcome], None]

# A sender waiting on a future (``append``) or told through a callback (``submit``).
Waiter = tuple[NewMessage, "asyncio.Future[AppendResult | None] | OnStored"]


class GroupCommitWriter:
    def __init__(
        self,
        committer: BatchCommitter,
        *,
        queue_max: int,
        batch_max: int,
        interval: float = 0.0,
    ) -> None:
        self._committer = committer
        self._queue_max = queue_max
        self._batch_max = batch_max
        # A busy writer starts at most one batch per ``interval`` seconds: what arrives
        # in between joins the next batch (one transaction, one wake-up of the senders'
        # side, one write per connection for the batch's acks and broadcasts). Busy: the
        # last batch held several messages (senders at once) and started less than
        # ``interval`` ago. A lone sender who waits for each ack never waits here.
        self._interval = interval
        self._last_started = -interval
        self._last_size = 0
        self._pending: deque[Waiter] = deque()
        self._in_flight: list[Waiter] = []
        self._wakeup = asyncio.Event()
        self._closed = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="sealchat-group-commit")

    async def append(self, new: NewMessage) -> AppendResult | None:
        """Resolves once the batch holding ``new`` has committed."""
        self._check_room()
        waiter: asyncio.Future[AppendResult | None] = asyncio.get_running_loop().create_future()
        self._pending.append((new, waiter))
        self._wakeup.set()
        return await waiter

    def submit(self, new: NewMessage, on_stored: OnStored) -> None:
        """Queue ``new`` without waiting: ``on_stored`` gets its outcome once its batch has
        committed. Raises ``Unavailable`` (nothing queued) like ``append``."""
        self._check_room()
        self._pending.append((new, on_stored))
        self._wakeup.set()

    def _check_room(self) -> None:
        if self._closing or self._task is None or self._task.done():
            raise Unavailable("the server is shutting down; try again shortly")
        if len(self._pending) >= self._queue_max:
            # Refused before anything is queued: memory stays bounded, nothing half-written.
            raise Unavailable("too many messages are waiting to be stored; try again shortly")

    async def aclose(self) -> None:
        """Store what is queued (for up to ``DRAIN_SECONDS``), fail the rest, then close."""
        self._closing = True
        self._closed.set()
        self._wakeup.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), DRAIN_SECONDS)
            except TimeoutError:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
        left = [*self._in_flight, *self._pending]
        self._pending.clear()
        self._in_flight = []
        for _, waiter in left:
            _resolve(waiter, Unavailable("the server is shutting down; try again"))
        await self._committer.close()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
            if self._last_size > 1 and not self._closing and len(self._pending) < self._batch_max:
                wait = self._last_started + self._interval - loop.time()
                if wait > 0:  # busy: let the next messages join this batch
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._closed.wait()  # closing does not wait
            self._last_started = loop.time()
            batch = self._in_flight = []
            while self._pending and len(batch) < self._batch_max:
                new, waiter = self._pending.popleft()
                if isinstance(waiter, asyncio.Future) and waiter.cancelled():
                    continue  # the sender gave up before its turn: skip it
                batch.append((new, waiter))
            self._last_size = len(batch) if self._interval else 0
            if batch:
                await self._commit(batch)
            self._in_flight = []

    async def _commit(self, batch: list[Waiter]) -> None:
        outcomes: Sequence[Outcome]
        started = time.perf_counter()
        try:
            outcomes = await self._committer.commit([new for new, _ in batch], datetime.now(UTC))
            if len(outcomes) != len(batch):
                raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} messages")
        except SealchatError as exc:
            outcomes = [exc] * len(batch)
        except Exception:
            # A bug must not stop the writer and leave every later sender waiting.
            log.exception("storing a batch of %d messages failed", len(batch))
            outcomes = [SealchatError("the message could not be stored")] * len(batch)
        elapsed = time.perf_counter() - started
        stored = 0
        for (_, waiter), outcome in zip(batch, outcomes, strict=True):
            if isinstance(outcome, AppendResult) and outcome.created:
                stored += 1
            _resolve(waiter, outcome)
        # Once per batch: its size, its commit time, and how many new messages it stored.
        metrics.record_batch(len(batch), stored, elapsed)


def _resolve(waiter: asyncio.Future[AppendResult | None] | OnStored, outcome: Outcome) -> None:
    # Each sender gets its own error instance (tracebacks are per raise).
    if isinstance(outcome, SealchatError):
        outcome = copy.copy(outcome)
    if not isinstance(waiter, asyncio.Future):
        try:
            waiter(outcome)
        except Exception:
            log.exception("a stored message's callback failed")
        return
    if waiter.done():
        return
    if isinstance(outcome, SealchatError):
        waiter.set_exception(outcome)
    else:
        waiter.set_result(outcome)
