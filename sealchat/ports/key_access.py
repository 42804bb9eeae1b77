"""Tell the key service that a membership ended, so the leaver's grants stop working."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class KeyAccessRevoker(Protocol):
    async def revoke(self, user_id: str, room_id: str) -> None:
        """Record that ``user_id``'s membership of ``room_id`` ended just now and tell the
        key service. Raises only when the revocation could not even be recorded."""


class RevocationSender(Protocol):
    async def send(self, notice: str) -> None:
        """Deliver one signed notice; returns once the key service has accepted it.

        Raises ``Unavailable`` (unreachable, refused) or ``RateLimited`` (with the key
        service's ``retry_after``) otherwise.
        """


@dataclass(frozen=True, slots=True)
class PendingRevocation:
    id: int
    user_id: str
    room_id: str
    revoked_at_ms: int
    attempts: int


class RevocationOutbox(Protocol):
    """Notices not yet accepted by the key service, in the chat database. Each method is
    one transaction."""

    async def add(
        self, user_id: str, room_id: str, revoked_at_ms: int, next_attempt_at: datetime
    ) -> PendingRevocation: ...

    async def due(self, until: datetime | None, limit: int) -> list[PendingRevocation]:
        """The oldest notices due at ``until`` (every one when ``None``)."""

    async def next_attempt_at(self) -> datetime | None: ...

    async def delivered(self, entry_id: int) -> None:
        """The key service accepted it: forget it."""

    async def failed(self, entry_id: int, next_attempt_at: datetime, error: str) -> None:
        """Count a failed attempt and schedule the next."""

    async def pending(self) -> list[PendingRevocation]: ...
