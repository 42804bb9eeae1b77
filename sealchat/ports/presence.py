"""Presence port: who has at least one open socket, on any node."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class Presence(Protocol):
    async def socket_opened(self, user_id: str) -> bool:
        """Count a socket; True when it is the user's first anywhere (they came online)."""

    async def socket_closed(self, user_id: str) -> bool:
        """Uncount a socket; True when it was the user's last anywhere (they went offline)."""

    async def online(self, user_ids: Iterable[str]) -> set[str]:
        """Those of ``user_ids`` with an open socket."""
