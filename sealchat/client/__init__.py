"""Async Python client for Sealchat: sign in, rooms, realtime send and receive, resume.

Example::

    async with SealchatClient("http://127.0.0.1:8000") as chat:
        await chat.login("alice", "correct horse battery")
        room = await chat.create_room("general")
        await chat.connect()
        await chat.send_text(room["id"], "hello")   # sealed here, in the client
        opened = await chat.next_opened()           # every message once, in order
        async for m in chat.room(room["id"]).messages():  # one room, opened
            ...

The layers (docs/architecture.md, "Client layers"): ``ClientCore`` (core.py) holds the
state and does no I/O; ``RestTransport`` and ``RealtimeTransport`` move JSON; the
``Authenticator`` and ``KeyService`` ports sign in and provide data keys;
``SealchatClient`` is the facade over them.
"""

from sealchat.client.client import SealchatClient
from sealchat.client.core import ClientCore
from sealchat.client.errors import ClientError
from sealchat.client.room_handle import RoomHandle

__all__ = ["ClientCore", "ClientError", "RoomHandle", "SealchatClient"]
