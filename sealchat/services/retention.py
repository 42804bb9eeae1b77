"""The retention job: run inside the server every ``interval`` seconds, progress logged.

Each pass trims every room whose messages expire (its own ``retention_days``, else the
server default), purges expired refresh tokens, then lets SQLite drop the deleted pages
from its WAL. Several nodes each run it; every step is idempotent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from sealchat import metrics
from sealchat.domain.errors import SealchatError

log = logging.getLogger(__name__)


class RetentionStore(Protocol):
    async def rooms_to_trim(self, default_days: float) -> list[tuple[str, float]]: ...
    async def trim_room(self, room_id: str, days: float, now: datetime) -> int: ...
    async def purge_refresh_tokens(self, now: datetime) -> int: ...
    async def release_deleted_pages(self) -> None: ...


@dataclass(frozen=True, slots=True)
class RetentionReport:
    rooms: int
    messages: int
    refresh_tokens: int
    seconds: float


class RetentionJob:
    def __init__(self, store: RetentionStore, *, default_days: float, interval: float) -> None:
        self._store = store
        self._default_days = default_days
        self._interval = interval

    async def run_once(self) -> RetentionReport:
        started = time.monotonic()
        now = datetime.now(UTC)
        rooms = await self._store.rooms_to_trim(self._default_days)
        log.info("retention: checking %d rooms with a retention period", len(rooms))
        total = 0
        for done, (room_id, days) in enumerate(rooms, 1):
            deleted = await self._store.trim_room(room_id, days, now)
            total += deleted
            if deleted:
                log.info(
                    "retention: room %s: %d messages older than %g days deleted",
                    room_id,
                    deleted,
                    days,
                )
            if done % 100 == 0:
                log.info(
                    "retention: %d of %d rooms done, %d messages deleted", done, len(rooms), total
                )
        tokens = await self._store.purge_refresh_tokens(now)
        await self._store.release_deleted_pages()
        metrics.RETENTION_DELETED.labels("messages").inc(total)
        metrics.RETENTION_DELETED.labels("refresh_tokens").inc(tokens)
        report = RetentionReport(len(rooms), total, tokens, time.monotonic() - started)
        log.info(
            "retention: done in %.1f s: %d messages deleted in %d rooms, %d expired refresh "
            "tokens purged",
            report.seconds,
            report.messages,
            report.rooms,
            report.refresh_tokens,
        )
        return report

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """A pass now (in the background), then one every ``interval`` seconds."""

        async def loop() -> None:
            while True:
                try:
                    await self.run_once()
                except SealchatError as exc:
                    log.warning("retention: pass failed, retrying later: %s", exc.message)
                except Exception:  # never let the job die
                    log.exception("retention: pass failed")
                await asyncio.sleep(self._interval)

        task = asyncio.create_task(loop(), name="sealchat-retention")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
