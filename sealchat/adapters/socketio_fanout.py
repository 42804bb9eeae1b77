"""Fan-out through python-socketio's client manager (in-process or Redis pub/sub)."""

from __future__ import annotations

from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from sealchat.adapters.fast_lane import LaneSocket, text_frame
from sealchat.ports.fanout import room_channel, user_channel

NAMESPACE = "/"


class BroadcastManager(socketio.AsyncManager):  # type: ignore[misc]
    """python-socketio's in-process manager without a task per recipient, and with the
    websocket fast lane (fast_lane.py).

    The packet is encoded once per broadcast, and so is its websocket frame. Each
    recipient whose socket can take the lane gets that frame written to its transport;
    any other (long-polling, compressed, something queued ahead) gets the packet queued,
    which never waits, so a room of hundreds costs a loop, not a task each.
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
        parts = encoded if isinstance(encoded, list) else [encoded]
        packets = [eio_packet.Packet(eio_packet.MESSAGE, part) for part in parts]
        # Binary attachments (several engine.io packets) always take the normal path.
        frame = (
            text_frame(packets[0].encode().encode())
            if len(packets) == 1
            and not packets[0].binary
            and getattr(self.server, "fast_lane", False)
            else None
        )
        sockets = self.server.eio.sockets
        send = self.server._send_eio_packet
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            if frame is not None:
                socket = sockets.get(eio_sid)
                if isinstance(socket, LaneSocket) and socket.lane_write(frame):
                    continue
            for pkt in packets:
                await send(eio_sid, pkt)


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
