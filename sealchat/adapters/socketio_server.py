"""The Socket.IO server Sealchat runs: each concern is a small server class of its own.

- ``GuardedAsyncServer`` (socketio_guard.py): a deadline to authenticate and a cap of
  connections per client address;
- ``PacketGuardServer`` (socketio_packets.py): malformed packets get an ``invalid_input``
  ack instead of a traceback;
- ``InlineEventServer`` (socketio_inline.py): ``message:send`` handled in the socket's
  reader, without a task per event;
- ``LaneServer`` (fast_lane.py): the websocket fast lane and the cap of unsent bytes
  per socket, on engine.io's server.

Their ``__init__`` methods take their own keyword arguments and pass the rest on, so the
method resolution order below builds each of them once. ``LaneServer`` comes before
``InlineEventServer``: its ``_send_encoded`` (the fast lane) overrides the plain one.
"""

from __future__ import annotations

from sealchat.adapters.fast_lane import LaneServer
from sealchat.adapters.socketio_guard import GuardedAsyncServer
from sealchat.adapters.socketio_inline import InlineEventServer


class SealchatSocketServer(GuardedAsyncServer, LaneServer, InlineEventServer):
    """python-socketio's ``AsyncServer`` with every guard, inline events and the fast lane."""
