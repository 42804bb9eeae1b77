"""Fan-out through python-socketio's client manager (in-process or Redis pub/sub).

``FastBroadcast`` is the local half of every broadcast, shared by both managers as a
mixin: the packet is encoded once, and each local recipient gets the pre-built frame
(fast lane) or the packet queued. ``BroadcastManager`` is python-socketio's in-process
manager with it; ``RedisBroadcastManager`` (socketio_redis.py) is its Redis manager with
it, where the encoded packet crosses Redis once and every node runs this for its sockets.

Moving every socket of a user into or out of a room, and disconnecting them, are
"member" operations: every socket in one Socket.IO room (``user:<id>``) enters, leaves or
is disconnected. Locally they walk the manager's tables; the Redis manager also sends them
to the other nodes as a control message.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Mapping
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from sealchat import metrics
from sealchat.adapters.fast_lane import LaneSocket, text_frame
from sealchat.domain.encoded import EncodedJson
from sealchat.ports.fanout import room_channel, user_channel

NAMESPACE = "/"
# About 1 ms of writes (6-8 µs each) between two turns of the event loop.
DELIVERY_SLICE = 128
# Rooms up to this many local recipients may be delivered synchronously (deliver_now).
NOW_RECIPIENTS_MAX = 32


def event_arguments(data: Any) -> list[Any]:
    """python-socketio's convention: a tuple is several arguments, None is none."""
    return list(data) if isinstance(data, tuple) else ([] if data is None else [data])


class FastBroadcast:
    """The mixin: local delivery of an encoded packet, and the member operations.

    Mixed in before a python-socketio manager class (it uses ``server``, ``rooms`` and
    ``get_participants`` of ``BaseManager``).
    """

    server: Any
    rooms: dict[str, Any]
    # Recipients per slice of a broadcast; the loop runs between slices.
    delivery_slice: int = DELIVERY_SLICE
    # Sliced broadcasts (and packets waiting behind them) under way: while nonzero,
    # everything sent to a socket takes its turn on the delivery lock.
    delivering: int = 0
    # BaseManager's; declared for the type checker only (a method here would shadow it).
    get_participants: Any

    def encode_event(self, event: str, data: Any, namespace: str) -> str | None:
        """The Socket.IO packet of an event, once; None when it has binary attachments
        (several engine.io packets: those take the manager's usual path).

        A pre-encoded payload (``EncodedJson``: a new message) becomes its packet by
        concatenation, without python-socketio's packet object and its walk of the data
        looking for binary parts."""
        if type(data) is EncodedJson and namespace == NAMESPACE:
            return f"{packet.EVENT}[{json.dumps(event)},{data.text}]"
        encoded = self.server.packet_class(
            packet.EVENT, namespace=namespace, data=[event, *event_arguments(data)]
        ).encode()
        return encoded if isinstance(encoded, str) else None

    def deliver_now(self, encoded: str, namespace: str, room: Any, skip_sid: Any) -> bool:
        """``deliver_local`` without awaiting anything, for a room of at most
        ``NOW_RECIPIENTS_MAX`` sockets that can all take the fast lane now (and no sliced
        broadcast under way); False: nothing was sent, use ``deliver_local``."""
        if self.delivering or not getattr(self.server, "fast_lane", False):
            return False
        rooms = self.rooms.get(namespace)
        if rooms is None:
            return True
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        names = room if isinstance(room, list | tuple) else [room]
        # A big room takes the sliced path: tell it without copying its table.
        if sum(len(rooms[name]) for name in names if name in rooms) > NOW_RECIPIENTS_MAX + len(
            skip
        ):
            return False
        started = time.perf_counter()
        sockets = self.server.eio.sockets
        targets = []
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            socket = sockets.get(eio_sid)
            if not isinstance(socket, LaneSocket) or not socket.lane_open():
                return False
            targets.append(socket)
            if len(targets) > NOW_RECIPIENTS_MAX:
                return False
        frame = text_frame(f"4{encoded}".encode())
        for socket in targets:
            socket.cork(frame)  # lane_open said True just above
        metrics.record_broadcast(encoded, len(targets), time.perf_counter() - started)
        return True

    async def deliver_local(
        self, encoded: str | list[str], namespace: str, room: Any, skip_sid: Any
    ) -> None:
        """Send an encoded packet (or several, in order) to this node's sockets in ``room``
        (one room, a list of rooms, or None for all), each socket once, without a task per
        recipient. Several packets reach a socket on the fast lane as one write: their
        frames joined once for the whole broadcast.

        A big room is delivered in slices of ``delivery_slice`` sockets, the event loop
        running between them, so a broadcast to thousands never stalls the server. Order
        per socket holds: while a sliced broadcast is under way (``delivering``), every
        later broadcast and every packet to one socket (``LaneServer._send_packet``)
        waits its turn on one FIFO lock, so none overtakes it at a socket it has not
        reached yet.

        Metrics: one counter increment (the recipient count) and one latency observation
        per packet, never per recipient.
        """
        if namespace not in self.rooms:
            return
        started = time.perf_counter()
        encodeds = [encoded] if isinstance(encoded, str) else encoded
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        pkts = [eio_packet.Packet(eio_packet.MESSAGE, each) for each in encodeds]
        frame = None
        if getattr(self.server, "fast_lane", False):
            frames = [text_frame(f"4{each}".encode()) for each in encodeds]
            frame = frames[0] if len(frames) == 1 else b"".join(frames)
        # get_participants walks a copy of the room's table: safe across the slices.
        recipients = self.get_participants(namespace, room)
        if self.delivering:
            sent = await self._deliver_in_turn(recipients, skip, pkts, frame, started=False)
        else:
            sent = await self._deliver_slice(recipients, skip, pkts, frame)
            if sent == self.delivery_slice:
                sent += await self._deliver_in_turn(recipients, skip, pkts, frame, started=True)
        elapsed = time.perf_counter() - started
        for each in encodeds:
            metrics.record_broadcast(each, sent, elapsed)

    async def _deliver_in_turn(
        self,
        recipients: Iterator[Any],
        skip: set[Any],
        pkts: list[Any],
        frame: bytes | None,
        *,
        started: bool,
    ) -> int:
        """The rest of a broadcast, holding the delivery lock (FIFO: turns in call order);
        returns how many it reached.

        ``started``: its first slice is out; nothing else was delivering, so the lock is
        free and taken without waiting, and the loop runs before the next slice."""
        self.delivering += 1
        sent = 0
        full = self.delivery_slice
        try:
            async with self._delivery_lock():
                last = full if started else await self._deliver_slice(recipients, skip, pkts, frame)
                sent += 0 if started else last
                while last == full:
                    await asyncio.sleep(0)
                    last = await self._deliver_slice(recipients, skip, pkts, frame)
                    sent += last
        finally:
            self.delivering -= 1
        return sent

    async def _deliver_slice(
        self, recipients: Iterator[Any], skip: set[Any], pkts: list[Any], frame: bytes | None
    ) -> int:
        """Up to ``delivery_slice`` recipients; how many were reached (all of the slice:
        some may be left). ``frame``: every packet's frame, joined (None: no fast lane)."""
        sockets = self.server.eio.sockets
        send = self.server._send_eio_packet
        left = self.delivery_slice
        for sid, eio_sid in recipients:
            if sid in skip:
                continue
            left -= 1
            if frame is not None:
                socket = sockets.get(eio_sid)
                if isinstance(socket, LaneSocket) and socket.lane_send(frame):
                    if not left:
                        return self.delivery_slice
                    continue
            for pkt in pkts:
                await send(eio_sid, pkt)
            if not left:
                return self.delivery_slice
        return self.delivery_slice - left

    def _delivery_lock(self) -> asyncio.Lock:
        lock = self.__dict__.get("_sealchat_delivery_lock")
        if lock is None:
            lock = self.__dict__["_sealchat_delivery_lock"] = asyncio.Lock()
        return lock

    async def wait_for_deliveries(self) -> None:
        """Return once every sliced broadcast begun (or waiting) before this call is out."""
        if self.delivering:
            self.delivering += 1
            try:
                async with self._delivery_lock():
                    pass
            finally:
                self.delivering -= 1

    # -- member operations, on this node's sockets --------------------------------------

    def _sids_in(self, namespace: str, room: str) -> list[str]:
        # Copied: entering a room changes the manager's room tables while we walk them.
        return [sid for sid, _ in self.get_participants(namespace, room)]

    async def local_members_enter(self, namespace: str, members_of: str, room: str) -> None:
        for sid in self._sids_in(namespace, members_of):
            await self.server.enter_room(sid, room, namespace=namespace)

    async def local_members_leave(self, namespace: str, members_of: str, room: str) -> None:
        for sid in self._sids_in(namespace, members_of):
            await self.server.leave_room(sid, room, namespace=namespace)

    async def local_members_disconnect(self, namespace: str, members_of: str) -> None:
        for sid in self._sids_in(namespace, members_of):
            await self.server.disconnect(sid, namespace=namespace, ignore_queue=True)

    # -- member operations on every node (the Redis manager adds the other nodes) ----

    async def members_enter(self, namespace: str, members_of: str, room: str) -> None:
        await self.local_members_enter(namespace, members_of, room)

    async def members_leave(self, namespace: str, members_of: str, room: str) -> None:
        await self.local_members_leave(namespace, members_of, room)

    async def members_disconnect(self, namespace: str, members_of: str) -> None:
        await self.local_members_disconnect(namespace, members_of)


class BroadcastManager(FastBroadcast, socketio.AsyncManager):  # type: ignore[misc]
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
        encoded = None if callback is not None else self.encode_event(event, data, namespace)
        if encoded is None:
            await super().emit(event, data, namespace, room, skip_sid, callback, to, **kwargs)
            return
        await self.deliver_local(encoded, namespace, to or room, skip_sid)

    async def emit_each(
        self, event: str, datas: list[Any], namespace: str, room: Any, skip_sid: Any
    ) -> None:
        """``emit`` of several events, in order, to the same room: a socket on the fast
        lane gets them all with one write."""
        encodeds = []
        for data in datas:
            encoded = self.encode_event(event, data, namespace)
            if encoded is None:  # binary attachments: each event the manager's usual way
                for each in datas:
                    await self.emit(event, each, namespace, room=room, skip_sid=skip_sid)
                return
            encodeds.append(encoded)
        await self.deliver_local(encodeds, namespace, room, skip_sid)

    def emit_now(self, event: str, data: Any, namespace: str, room: Any, skip_sid: Any) -> bool:
        """``emit`` done at once (``deliver_now``), or False: nothing was sent."""
        encoded = self.encode_event(event, data, namespace)
        return encoded is not None and self.deliver_now(encoded, namespace, room, skip_sid)


class SocketIoFanout:
    """The ``Fanout`` port on a Socket.IO server whose manager mixes in ``FastBroadcast``."""

    def __init__(self, sio: socketio.AsyncServer) -> None:
        self._sio = sio
        self._manager: FastBroadcast = sio.manager

    async def publish(
        self, event: str, payload: Mapping[str, Any], channels: list[str], skip: str | None = None
    ) -> None:
        # The manager's emit, as AsyncServer.emit calls it (without its info log line).
        await self._sio.manager.emit(
            event, payload, NAMESPACE, room=channels, skip_sid=skip, callback=None
        )

    async def publish_each(
        self,
        event: str,
        payloads: list[Mapping[str, Any]],
        channels: list[str],
        skip: str | None = None,
    ) -> None:
        emit_each = getattr(self._sio.manager, "emit_each", None)
        if emit_each is None:  # the Redis manager publishes each event
            for payload in payloads:
                await self.publish(event, payload, channels, skip)
            return
        await emit_each(event, payloads, NAMESPACE, channels, skip)

    def publish_now(
        self, event: str, payload: Mapping[str, Any], channels: list[str], skip: str | None = None
    ) -> bool:
        # Only the in-process manager can: the Redis one must publish (and await) first.
        emit_now = getattr(self._sio.manager, "emit_now", None)
        return emit_now is not None and bool(emit_now(event, payload, NAMESPACE, channels, skip))

    async def subscribe_user(self, user_id: str, room_id: str) -> None:
        await self._manager.members_enter(NAMESPACE, user_channel(user_id), room_channel(room_id))

    async def unsubscribe_user(self, user_id: str, room_id: str) -> None:
        await self._manager.members_leave(NAMESPACE, user_channel(user_id), room_channel(room_id))

    async def disconnect_user(self, user_id: str) -> None:
        await self._manager.members_disconnect(NAMESPACE, user_channel(user_id))
