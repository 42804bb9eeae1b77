"""Tell the key service that a membership ended, so the leaver's grants stop working."""

from __future__ import annotations

from typing import Protocol


class KeyAccessRevoker(Protocol):
    async def revoke(self, user_id: str, room_id: str) -> None:
        """Best effort: grants also expire on their own within their short lifetime."""
