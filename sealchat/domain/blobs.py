"""Blobs: sealed files' ciphertext as the server sees it (no name, no type, no key)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sealchat.domain.errors import PayloadTooLarge

# A message names at most this many blobs (its plaintext ``attachments``).
MAX_ATTACHMENTS = 10


class QuotaExceeded(PayloadTooLarge):
    """The uploader's blobs would add up to more than their quota."""

    code = "quota_exceeded"


@dataclass(frozen=True, slots=True)
class Blob:
    id: str
    room_id: str
    uploader_id: str
    created_at: datetime
    size: int = 0
    stored_at: datetime | None = None
    referenced_at: datetime | None = None

    @property
    def stored(self) -> bool:
        return self.stored_at is not None
