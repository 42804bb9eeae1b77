"""Sealed files' blobs: upload with a size limit and a quota, reading by room members,
and the cleanup job that removes blobs no message keeps (docs/protocol.md §3.6)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from sealchat.domain.blobs import Blob, QuotaExceeded
from sealchat.domain.errors import NotFound, PayloadTooLarge
from sealchat.ports.blobs import BlobIndex, BlobStore
from sealchat.ports.storage import RoomStore
from sealchat.services.rooms import RoomService

log = logging.getLogger(__name__)

CLEANUP_BATCH = 500


class BlobService:
    def __init__(
        self,
        index: BlobIndex,
        store: BlobStore,
        rooms: RoomService,
        room_store: RoomStore,
        *,
        max_upload_bytes: int,
        quota_bytes: int,
        orphan_seconds: float,
    ) -> None:
        self._index = index
        self._store = store
        self._rooms = rooms
        self._room_store = room_store
        self.max_upload_bytes = max_upload_bytes
        self._quota = quota_bytes
        self._orphan = timedelta(seconds=orphan_seconds)

    async def upload(
        self, uploader_id: str, room_id: str, chunks: AsyncIterator[bytes], declared: int | None
    ) -> Blob:
        """Store a blob for a room the uploader is a member of. Over the size limit or
        the quota the upload stops with ``payload_too_large`` / ``quota_exceeded`` and
        nothing of it is kept."""
        await self._rooms.require_member(uploader_id, room_id)
        if declared is not None and declared > self.max_upload_bytes:
            raise self._too_large()
        allowance = self._quota - await self._index.usage(uploader_id)
        if (declared is not None and declared > allowance) or allowance <= 0:
            raise self._over_quota()
        blob = Blob(
            id=str(uuid.uuid4()),
            room_id=room_id,
            uploader_id=uploader_id,
            created_at=datetime.now(UTC),
            size=declared or 0,
        )
        await self._index.create_blob(blob)
        try:
            size = await self._store.put(blob.id, self._counted(chunks, allowance))
            if not await self._index.complete_blob(blob, size, self._quota, datetime.now(UTC)):
                raise self._over_quota()  # concurrent uploads went over together
        except BaseException:
            await self._forget(blob.id)
            raise
        return Blob(blob.id, room_id, uploader_id, blob.created_at, size, datetime.now(UTC))

    async def readable(self, reader_id: str, blob_id: str) -> Blob:
        """A stored blob of a room the reader is a member of; otherwise ``not_found``
        (whether the blob exists is no business of anyone outside its room)."""
        blob = await self._index.get_blob(blob_id)
        if blob is None or not blob.stored:
            raise NotFound("no such file")
        if await self._room_store.get_role(blob.room_id, reader_id) is None:
            raise NotFound("no such file")
        return blob

    async def open(self, blob: Blob, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` (inclusive) of a readable blob, its first chunk already
        read: a blob the cleanup removed after ``readable`` answers ``not_found`` here,
        before any response has started, instead of a response cut short."""
        if end < start:
            return _no_chunks()
        chunks = aiter(self._store.read(blob.id, start, end))
        try:
            first = await anext(chunks)
        except StopAsyncIteration:
            return _no_chunks()
        return _chained(first, chunks)

    async def forget_messages(self, message_ids: list[str]) -> None:
        """Deleted messages: their blobs go at the next cleanup."""
        await self._index.detach_messages(message_ids)

    async def cleanup(self, now: datetime | None = None) -> int:
        """Remove orphaned blobs and blobs of deleted messages; returns how many."""
        cutoff = (now or datetime.now(UTC)) - self._orphan
        removed = 0
        while True:
            ids = await self._index.take_removable(cutoff, CLEANUP_BATCH)
            for blob_id in ids:
                try:
                    await self._store.delete(blob_id)
                except Exception:
                    log.exception("could not remove blob %s from the store", blob_id)
            removed += len(ids)
            if len(ids) < CLEANUP_BATCH:
                return removed

    @contextlib.asynccontextmanager
    async def cleaning(self, interval: float) -> AsyncIterator[None]:
        """Run ``cleanup`` every ``interval`` seconds while the server runs (0: never)."""
        if interval <= 0:
            yield
            return
        task = asyncio.create_task(self._clean_forever(interval), name="sealchat-blob-cleanup")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _clean_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                removed = await self.cleanup()
                if removed:
                    log.info("removed %d unused blobs", removed)
            except Exception:
                log.exception("blob cleanup failed; trying again later")

    async def _counted(self, chunks: AsyncIterator[bytes], allowance: int) -> AsyncIterator[bytes]:
        received = 0
        async for chunk in chunks:
            received += len(chunk)
            if received > self.max_upload_bytes:
                raise self._too_large()
            if received > allowance:
                raise self._over_quota()
            yield chunk

    async def _forget(self, blob_id: str) -> None:
        with contextlib.suppress(Exception):
            await self._store.delete(blob_id)
        await self._index.delete_blob(blob_id)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(
            f"the file is over the upload limit of {self.max_upload_bytes} bytes"
        )

    def _over_quota(self) -> QuotaExceeded:
        return QuotaExceeded(
            f"your files would take more than your quota of {self._quota} bytes; "
            "delete some or ask the operator for more"
        )


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield  # an async generator that yields nothing


async def _chained(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    async with contextlib.aclosing(rest):  # type: ignore[type-var]
        yield first
        async for chunk in rest:
            yield chunk
