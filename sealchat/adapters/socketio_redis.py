"""Fan-out between nodes: python-socketio's Redis manager with our fast broadcast.

What crosses Redis for a broadcast is the Socket.IO packet already encoded (once, by the
sending node), in python-socketio's ``emit`` message with a ``packet`` field instead of
``event``/``data``. Each node delivers it to its own sockets with ``FastBroadcast``
(one frame for all its recipients), so no node decodes or re-encodes it. A message
without ``packet`` (another python-socketio process, or a binary event) takes
python-socketio's usual path.

Publishes go out in the order they were made, from one task, pipelined: concurrent emits
of one node would otherwise take different pooled connections and could reach Redis in
another order. ``emit`` returns once its message is published, so an acknowledged
message has left the node even if the node dies right after.

Member operations (``members_enter`` / ``members_leave`` / ``members_disconnect``) run
here and go to the other nodes as control messages (``method: sealchat:members``) that
python-socketio's listener never sees: ``_listen`` handles them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from sealchat.adapters.socketio_fanout import FastBroadcast

log = logging.getLogger(__name__)

MEMBERS = "sealchat:members"


class RedisBroadcastManager(FastBroadcast, socketio.AsyncRedisManager):  # type: ignore[misc]
    connected: bool  # python-socketio's: whether ``redis`` is connected

    def __init__(self, url: str, channel: str = "sealchat", **kwargs: Any) -> None:
        super().__init__(url=url, channel=channel, **kwargs)
        self._outbox: list[tuple[dict[str, Any], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._publisher: asyncio.Task[None] | None = None

    # -- broadcasting -----------------------------------------------------------------

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        namespace = namespace or "/"
        room = to or room
        encoded = None if callback is not None else self.encode_event(event, data, namespace)
        if encoded is None:
            await super().emit(event, data, namespace, room, skip_sid, callback, **kwargs)
            return
        await self.deliver_local(encoded, namespace, room, skip_sid)
        if kwargs.get("ignore_queue"):
            return
        await self._publish(
            {
                "method": "emit",
                "packet": encoded,
                "namespace": namespace,
                "room": room,
                "skip_sid": skip_sid,
                "host_id": self.host_id,
            }
        )

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        encoded = message.get("packet")
        if not isinstance(encoded, str):
            await super()._handle_emit(message)
            return
        await self.deliver_local(
            encoded, message.get("namespace") or "/", message.get("room"), message.get("skip_sid")
        )

    # -- member operations on every node ---------------------------------------------

    async def members_enter(self, namespace: str, members_of: str, room: str) -> None:
        await self.local_members_enter(namespace, members_of, room)
        await self._members(namespace, members_of, "enter", room)

    async def members_leave(self, namespace: str, members_of: str, room: str) -> None:
        await self.local_members_leave(namespace, members_of, room)
        await self._members(namespace, members_of, "leave", room)

    async def members_disconnect(self, namespace: str, members_of: str) -> None:
        await self.local_members_disconnect(namespace, members_of)
        await self._members(namespace, members_of, "disconnect", None)

    async def _members(self, namespace: str, members_of: str, op: str, room: str | None) -> None:
        await self._publish(
            {
                "method": MEMBERS,
                "op": op,
                "members_of": members_of,
                "room": room,
                "namespace": namespace,
                "host_id": self.host_id,
            }
        )

    async def _handle_members(self, message: dict[str, Any]) -> None:
        namespace = message.get("namespace") or "/"
        members_of, room, op = message.get("members_of"), message.get("room"), message.get("op")
        if not isinstance(members_of, str):
            return
        if op == "enter" and isinstance(room, str):
            await self.local_members_enter(namespace, members_of, room)
        elif op == "leave" and isinstance(room, str):
            await self.local_members_leave(namespace, members_of, room)
        elif op == "disconnect":
            await self.local_members_disconnect(namespace, members_of)

    async def _listen(self) -> Any:
        """python-socketio's listener, with our control messages taken out of the stream."""
        async for raw in super()._listen():
            try:
                message = self.json.loads(raw)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("method") == MEMBERS:
                if message.get("host_id") != self.host_id:
                    try:
                        await self._handle_members(message)
                    except Exception:
                        log.exception("could not apply a member operation from another node")
                continue
            yield message

    # -- publishing, in order -------------------------------------------------------

    async def _publish(self, data: dict[str, Any]) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._outbox.append((data, done))
        self._wake.set()
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.ensure_future(self._publish_forever())
        await done

    async def _publish_forever(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._outbox = self._outbox, []
            if not batch:
                continue
            try:
                await self._publish_batch([data for data, _ in batch])
            except Exception:
                log.exception("could not publish %d messages to Redis", len(batch))
            for _, done in batch:
                if not done.done():
                    done.set_result(None)

    async def _publish_batch(self, batch: list[dict[str, Any]]) -> None:
        """One pipeline (one round trip) for the batch; a second try on a new connection,
        like python-socketio's ``_publish``."""
        payloads = [self.json.dumps(data) for data in batch]
        for retries_left in (1, 0):
            try:
                if not self.connected:
                    self._redis_connect()
                async with self.redis.pipeline(transaction=False) as pipe:
                    for payload in payloads:
                        pipe.publish(self.channel, payload)
                    await pipe.execute()
                return
            except Exception:
                self.connected = False
                if not retries_left:
                    raise
                log.warning("cannot publish to Redis, retrying once", exc_info=True)
