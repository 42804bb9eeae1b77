"""SealchatClient over fake transports: sealing, the outbox across a reconnect and a
restart, room streams, room resolution. No server, no sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from sealchat.client import ClientError, SealchatClient
from sealchat.client.content import edit, reaction
from sealchat.client.realtime import Handler, RealtimeTransport
from tests.unit.client_fakes import FakeKeyService

ME = {"id": "u-me", "username": "me"}


class FakeRealtime(RealtimeTransport):
    """The realtime transport with the socket replaced by a function that answers calls."""

    def __init__(self) -> None:
        super().__init__(ack_timeout=1.0)
        self.open = False
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answer: Callable[[str, dict[str, Any]], dict[str, Any]] = lambda e, p: {"ok": True}

    @property
    def has_socket(self) -> bool:
        return self.open

    @property
    def is_open(self) -> bool:
        return self.open

    async def connect(self, url: str, auth: Any, transports: list[str]) -> None:
        self.open = True
        await self.fire("connect")

    async def disconnect(self) -> None:
        if self.open:
            self.open = False
            await self.fire("disconnect", "client")

    async def call(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        if not self.open:
            raise ClientError("disconnected", "not connected")
        self.calls.append((event, payload))
        ack = self.answer(event, payload)
        if not ack.get("ok"):
            raise ClientError.from_body(ack)
        return ack

    async def fire(self, event: str, *args: Any) -> None:
        handler: Handler | None = self._handlers.get(event)
        if handler is not None:
            result = handler(*args)
            if isinstance(result, Awaitable):
                await result


class Server:
    """Stores sends like the real one: per-room seq, idempotent by client message id."""

    def __init__(self) -> None:
        self.rooms = [
            {"id": "r1", "name": "general", "visibility": "public", "last_seq": 0, "role": "owner"},
            {"id": "r2", "name": "ops", "visibility": "private", "last_seq": 0, "role": "member"},
            {"id": "r3", "name": "OPS", "visibility": "private", "last_seq": 0, "role": "member"},
        ]
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.drop_next_ack = False
        # A server that moves relations elsewhere (the client must notice).
        self.rewrite_relation: dict[str, str] | None = None

    def rest(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/auth/login":
            return httpx.Response(
                200,
                json={
                    "access_token": "a",
                    "refresh_token": "r",
                    "expires_in": 900,
                    "user": ME,
                },
            )
        if path == "/api/config":
            return httpx.Response(200, json={"auth": {"mode": "embedded"}})
        if path == "/api/rooms":
            return httpx.Response(200, json={"rooms": self.rooms})
        if path == "/api/rooms/directory":
            return httpx.Response(200, json={"rooms": []})
        if path.endswith("/members"):
            member = {"user": ME, "role": "owner", "online": True}
            return httpx.Response(200, json={"members": [member]})
        return httpx.Response(404, json={"error": {"code": "not_found", "message": path}})

    def realtime(self, event: str, payload: dict[str, Any]) -> dict[str, Any]:
        if event == "sync":
            return {"ok": True, "messages": [], "has_more": {}, "errors": {}}
        assert event == "message:send"
        key = (payload["room_id"], payload["client_msg_id"])
        if key not in self.messages:
            seq = 1 + sum(1 for r, _ in self.messages if r == payload["room_id"])
            self.messages[key] = {
                "id": f"{payload['room_id']}-m{seq}",
                "room_id": payload["room_id"],
                "seq": seq,
                "sender_id": ME["id"],
                "client_msg_id": payload["client_msg_id"],
                "envelope": payload["envelope"],
                "created_at": "2026-11-29T10:00:00+00:00",
                "relates_to": self.rewrite_relation or payload.get("relates_to"),
                "deleted": False,
            }
        if self.drop_next_ack:
            self.drop_next_ack = False
            raise ClientError("disconnected", "connection lost before the ack")
        return {"ok": True, "message": self.messages[key]}


async def new_client(
    server: Server, outbox: Path | None = None
) -> tuple[SealchatClient, FakeRealtime]:
    realtime = FakeRealtime()
    realtime.answer = server.realtime
    http = httpx.AsyncClient(transport=httpx.MockTransport(server.rest), base_url="http://chat")
    client = SealchatClient(
        "http://chat",
        http=http,
        key_service=FakeKeyService(),
        key_id="k",
        outbox_path=outbox,
        realtime=realtime,
    )
    await client.login("me", "pw")
    return client, realtime


async def test_a_send_whose_ack_was_lost_is_resent_after_the_reconnect_and_stored_once(
    tmp_path: Path,
) -> None:
    server = Server()
    client, realtime = await new_client(server, tmp_path / "outbox.json")
    await client.connect()
    server.drop_next_ack = True
    with pytest.raises(ClientError) as caught:
        await client.send_text("r1", "hello")
    assert caught.value.code == "disconnected"
    assert len(client.core.outbox) == 1
    assert b"hello" not in (tmp_path / "outbox.json").read_bytes()

    await realtime.disconnect()
    await realtime.connect("http://chat", None, ["websocket"])
    for _ in range(20):
        if not client.core.outbox.pending():
            break
        await asyncio.sleep(0.01)
    sends = [p for e, p in realtime.calls if e == "message:send"]
    assert len(sends) == 2 and sends[0]["client_msg_id"] == sends[1]["client_msg_id"]
    assert len(server.messages) == 1
    assert (await client.next_opened(1)).text == "hello"
    await client.close()


async def test_the_outbox_is_resent_by_a_new_client_after_a_restart(tmp_path: Path) -> None:
    server = Server()
    first, _ = await new_client(server, tmp_path / "outbox.json")
    with pytest.raises(ClientError):  # never connected: the send waits in the outbox
        await first.send_text("r1", "written offline")
    await first.close()

    second, _ = await new_client(server, tmp_path / "outbox.json")
    await second.connect()
    for _ in range(20):
        if server.messages:
            break
        await asyncio.sleep(0.01)
    assert len(server.messages) == 1
    assert (await second.next_opened(1)).text == "written offline"
    assert json.loads((tmp_path / "outbox.json").read_text()) == {"pending": []}
    await second.close()


async def test_a_refused_send_leaves_the_outbox() -> None:
    server = Server()
    client, realtime = await new_client(server)
    await client.connect()
    realtime.answer = lambda e, p: {"ok": False, "error": {"code": "forbidden", "message": "no"}}
    with pytest.raises(ClientError):
        await client.send_text("r1", "nope")
    assert len(client.core.outbox) == 0
    await client.close()


async def test_room_streams_and_the_room_timeline_with_relations() -> None:
    server = Server()
    client, realtime = await new_client(server)
    await client.connect()
    room = client.room("r1")
    stream = room.messages()
    first = asyncio.ensure_future(stream.__anext__())
    await asyncio.sleep(0)
    sent = await room.send_text("helo")
    assert (await asyncio.wait_for(first, 1)).text == "helo"
    await client.send_text("r2", "elsewhere")
    await room.edit(sent["id"], "hello")
    await room.react(sent["id"], "👍")
    edited = await asyncio.wait_for(stream.__anext__(), 1)
    assert edited.parsed == edit(sent["id"], "hello")
    assert (await asyncio.wait_for(stream.__anext__(), 1)).parsed == reaction(sent["id"], "👍")
    await stream.aclose()
    [item] = room.timeline().items()
    assert (item.text, item.edited, item.reactions) == ("hello", True, {"👍": ["u-me"]})
    # The relation travels beside the envelope too, for the server to check.
    sends = [p for e, p in realtime.calls if e == "message:send"]
    assert [p.get("relates_to") for p in sends][-2:] == [
        {"type": "edit", "message_id": sent["id"]},
        {"type": "reaction", "message_id": sent["id"]},
    ]
    await client.close()


async def test_a_relation_the_server_rewrote_does_not_open() -> None:
    server = Server()
    client, _ = await new_client(server)
    await client.connect()
    room = client.room("r1")
    target = await room.send_text("one")
    other = await room.send_text("two")
    server.rewrite_relation = {"type": "reply", "message_id": other["id"]}
    moved = await room.reply(target["id"], "to one")
    opened = await client.open(moved)
    assert (opened.ok, opened.error, opened.content) == (False, "relation_mismatch", None)
    server.rewrite_relation = None
    assert (await client.open(await room.reply(target["id"], "again"))).ok
    await client.close()


async def test_find_room_is_exact_and_refuses_ambiguity() -> None:
    server = Server()
    client, _ = await new_client(server)
    assert (await client.find_room("general"))["id"] == "r1"
    assert (await client.find_room("ops"))["id"] == "r2"  # the exact name wins
    assert (await client.find_room("r3"))["id"] == "r3"
    with pytest.raises(ClientError) as caught:
        await client.find_room("Ops")
    assert caught.value.code == "ambiguous_room"
    assert "ops [r2]" in caught.value.message and "OPS [r3]" in caught.value.message
    with pytest.raises(ClientError) as missing:
        await client.find_room("nothing")
    assert missing.value.code == "not_found"
    await client.close()
