"""Async Python client for Sealchat: sign in, rooms, realtime send and receive, resume.

Example::

    async with SealchatClient("http://127.0.0.1:8000") as chat:
        await chat.login("alice", "correct horse battery")
        room = await chat.create_room("general")
        await chat.connect()
        await chat.send_text(room["id"], "hello")   # sealed here, in the client
        opened = await chat.next_opened()           # every message once, in order
"""

from sealchat.client.client import SealchatClient
from sealchat.client.errors import ClientError

__all__ = ["ClientError", "SealchatClient"]
