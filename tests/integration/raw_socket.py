"""A bare python-socketio client that records every event, to count deliveries exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import socketio


class RawSocket:
    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.sio = socketio.AsyncClient(reconnection=False)
        self._changed = asyncio.Condition()
        self.sio.on("*", self._record)

    async def _record(self, event: str, payload: Any = None) -> None:
        async with self._changed:
            self.events.append((event, payload))
            self._changed.notify_all()

    async def connect(self, url: str, token: str) -> None:
        await self.sio.connect(
            url, auth={"token": token}, transports=["websocket"], wait_timeout=10
        )

    async def call(self, event: str, payload: Any) -> Any:
        return await self.sio.call(event, payload, timeout=10)

    def of(self, event: str, where: Callable[[Any], bool] | None = None) -> list[Any]:
        return [
            payload
            for name, payload in self.events
            if name == event and (where is None or where(payload))
        ]

    async def wait_for(
        self,
        event: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[Any], bool] | None = None,
    ) -> list[Any]:
        """The events named ``event`` (matching ``where``) once ``count`` have arrived."""

        async def enough() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.of(event, where)) >= count)

        await asyncio.wait_for(enough(), timeout)
        return self.of(event, where)

    async def close(self) -> None:
        await self.sio.disconnect()


async def register_with_room(url: str, username: str, room_name: str) -> tuple[str, str]:
    """Sign up ``username`` and create a room; returns (access token, room id)."""
    async with httpx.AsyncClient(base_url=url) as http:
        signed_up = await http.post(
            "/api/auth/register", json={"username": username, "password": "x" * 12}
        )
        token = signed_up.json()["access_token"]
        created = await http.post(
            "/api/rooms", json={"name": room_name}, headers={"Authorization": f"Bearer {token}"}
        )
    return token, created.json()["room"]["id"]
