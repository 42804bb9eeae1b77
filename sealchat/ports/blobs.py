"""Blob ports: where sealed files' ciphertext lives, and what the server knows of it.

The store holds opaque bytes under a blob id (local disk, S3); the index is the database's
blob table (room, uploader, size, times) and which message names which blob.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Protocol

from sealchat.domain.blobs import Blob


class BlobStore(Protocol):
    async def put(self, blob_id: str, chunks: AsyncIterator[bytes]) -> int:
        """Store the stream under ``blob_id``; returns its size in bytes.

        When ``chunks`` raises (a size limit, a dropped upload), nothing of it is kept
        and the exception propagates.
        """

    def read(self, blob_id: str, start: int, end: int) -> AsyncIterator[bytes]:
        """Bytes ``start`` to ``end`` (inclusive) of a stored blob, in chunks. A blob that is
        not (or no longer) in the store raises ``NotFound`` before the first chunk."""

    async def delete(self, blob_id: str) -> None:
        """Remove a blob; one that is not there is not an error."""


class BlobIndex(Protocol):
    async def create_blob(self, blob: Blob) -> None:
        """Record an upload that has started (not readable, not attachable yet); its
        ``size`` is what it announced, counted against the quota until it completes."""

    async def complete_blob(self, blob: Blob, size: int, quota: int, at: datetime) -> bool:
        """Mark the upload stored with its size, if the uploader's blobs, this one
        included, stay within ``quota`` bytes; False (nothing changes) otherwise."""

    async def delete_blob(self, blob_id: str) -> None: ...

    async def get_blob(self, blob_id: str) -> Blob | None: ...

    async def usage(self, uploader_id: str) -> int:
        """Bytes of the uploader's blobs (stored or uploading)."""

    async def take_removable(self, orphaned_before: datetime, limit: int) -> list[str]:
        """Forget (and return the ids of) blobs to remove from the store: never named by
        a message and created before ``orphaned_before``, or named only by messages that
        are gone. Once returned, no message can attach them."""

    async def detach_messages(self, message_ids: list[str]) -> None:
        """Deleted messages no longer keep their blobs (the cleanup job removes them)."""
