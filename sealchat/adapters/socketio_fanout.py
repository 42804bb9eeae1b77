"""Fan-out through python-socketio's client manager (in-process or Redis pub/sub)."""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from sealchat.ports.fanout import room_channel, user_channel

NAMESPACE = "/"


class BroadcastManager(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's in-process manager without a task per recipient.

    The stock ``emit`` encodes once but creates one asyncio task per recipient;
    queueing a packet on a socket never waits (its queue is unbounded), so a plain
    loop delivers to a room of hundreds for the cost of a dict walk.
    """

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        args = list(data) if isinstance(data, tuple) else ([] if data is None else [data])
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *args]
        ).encode()
        frames = [
            eio_packet.Packet(eio_packet.MESSAGE, part)
            for part in (encoded if isinstance(encoded, list) else [encoded])
        ]
        send = self.server._send_eio_packet
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid not in skip:
                for frame in frames:
                    await send(eio_sid, frame)


class SocketIoFanout:
    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio

    async def publish(
        self, event: str, payload: dict[str, Any], channels: list[str], skip: str | None = None
    ) -> None:
        await self._sio.emit(event, payload, to=channels, skip_sid=skip, namespace=NAMESPACE)

    async def subscribe_user(self, user_id: str, room_id: str) -> None:
        for sid in self._user_sids(user_id):
            await self._sio.enter_room(sid, room_channel(room_id), namespace=NAMESPACE)

    async def unsubscribe_user(self, user_id: str, room_id: str) -> None:
        for sid in self._user_sids(user_id):
            await self._sio.leave_room(sid, room_channel(room_id), namespace=NAMESPACE)

    def _user_sids(self, user_id: str) -> list[str]:
        # Copied: entering a room changes the manager's room tables while we walk them.
        return [
            sid for sid, _ in self._sio.manager.get_participants(NAMESPACE, user_channel(user_id))
        ]
