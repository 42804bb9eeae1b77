"""Fan-out port: deliver events to connected sockets, and keep their room sets current."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


def room_channel(room_id: str) -> str:
    return f"room:{room_id}"


def user_channel(user_id: str) -> str:
    return f"user:{user_id}"


class Fanout(Protocol):
    async def publish(
        self, event: str, payload: Mapping[str, Any], channels: list[str], skip: str | None = None
    ) -> None:
        """Send one event to every socket in any of ``channels`` (each socket once)."""

    async def publish_each(
        self,
        event: str,
        payloads: list[Mapping[str, Any]],
        channels: list[str],
        skip: str | None = None,
    ) -> None:
        """``publish`` of several events of one kind to the same channels, in order (a
        socket may get them in one write)."""

    def publish_now(
        self, event: str, payload: Mapping[str, Any], channels: list[str], skip: str | None = None
    ) -> bool:
        """``publish``, done at once when it needs no waiting (a small room whose sockets
        can all take the fast lane); False: nothing was sent, ``publish`` must be awaited."""

    async def subscribe_user(self, user_id: str, room_id: str) -> None:
        """Make every connected socket of the user receive the room's events."""

    async def unsubscribe_user(self, user_id: str, room_id: str) -> None: ...
