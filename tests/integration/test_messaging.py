"""Messages between real clients over real sockets: delivery, order, resume, idempotency."""

from __future__ import annotations

import asyncio

from sealchat.client import SealchatClient
from tests.envelopes import label_of, opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.raw_socket import RawSocket
from tests.live_server import LiveServer


def envelope(text: str) -> dict[str, object]:
    # Shape-valid but not really sealed: the transport must not care what is inside.
    return opaque_envelope(text)


async def raw_socket(server: LiveServer, client: SealchatClient) -> RawSocket:
    sock = RawSocket()
    assert client.api.access_token
    await sock.connect(server.url, client.api.access_token)
    return sock


async def test_channel_messages_reach_every_socket_of_every_member_once(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(), await new_client()
    room = await alice.create_room("general-delivery")
    await bob.join(room["id"])
    tabs = [
        await raw_socket(server, alice),
        await raw_socket(server, alice),
        await raw_socket(server, bob),
    ]
    await alice.connect()
    await bob.connect()

    sent = [await alice.send(room["id"], envelope(f"a{i}")) for i in range(3)]
    sent += [await bob.send(room["id"], envelope(f"b{i}")) for i in range(3)]

    for tab in tabs:
        got = await tab.wait_for("message:new", 6)
        await asyncio.sleep(0.2)  # anything extra would arrive now
        assert [m["seq"] for m in tab.of("message:new")] == [1, 2, 3, 4, 5, 6]
        assert [m["envelope"] for m in got] == [m["envelope"] for m in sent]
        await tab.close()
    # Each library client sees the whole room timeline once, its own sends included.
    for client in (alice, bob):
        timeline = [await client.next_message() for _ in range(6)]
        assert [m["seq"] for m in timeline] == [1, 2, 3, 4, 5, 6]
        assert client.pending_messages() == 0


async def test_sender_socket_gets_its_message_in_the_ack_not_twice(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice = await new_client()
    room = await alice.create_room("ack-only")
    sender, other_tab = await raw_socket(server, alice), await raw_socket(server, alice)
    ack = await sender.call(
        "message:send", {"room_id": room["id"], "client_msg_id": "m-1", "envelope": envelope("hi")}
    )
    assert ack["ok"] is True
    assert ack["message"]["seq"] == 1
    assert ack["message"]["sender_id"] == alice.user["id"]  # type: ignore[index]
    await other_tab.wait_for("message:new")
    await asyncio.sleep(0.2)
    assert sender.of("message:new") == []
    await sender.close()
    await other_tab.close()


async def test_direct_messages_use_one_room_per_pair(new_client: ClientFactory) -> None:
    alice, bob = await new_client(), await new_client()
    bob_name = bob.user["username"]  # type: ignore[index]
    alice_name = alice.user["username"]  # type: ignore[index]
    first = await alice.open_dm(bob_name)
    again = await alice.open_dm(bob_name.upper())
    from_bob = await bob.open_dm(alice_name)
    assert first["id"] == again["id"] == from_bob["id"]
    assert first["visibility"] == "direct"
    await alice.connect()
    await bob.connect()
    await alice.send(first["id"], envelope("hello bob"))
    reply = await bob.send(first["id"], envelope("hello alice"))
    got_by_bob = [await bob.next_message(), await bob.next_message()]
    got_by_alice = [await alice.next_message(), await alice.next_message()]
    assert [label_of(m["envelope"]) for m in got_by_bob] == ["hello bob", "hello alice"]
    assert got_by_alice == got_by_bob
    assert reply["seq"] == 2


async def test_reconnect_sync_returns_exactly_what_was_missed(new_client: ClientFactory) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("resume")
    await bob.join(room["id"])
    await bob.connect()
    await alice.send(room["id"], envelope("before"))
    assert (await bob.next_message())["seq"] == 1

    await bob.disconnect()
    for i in range(50):
        await alice.send(room["id"], envelope(f"missed {i}"))
    assert bob.pending_messages() == 0

    await bob.connect()
    missed = [await bob.next_message() for _ in range(50)]
    assert [m["seq"] for m in missed] == list(range(2, 52))
    assert [label_of(m["envelope"]) for m in missed] == [f"missed {i}" for i in range(50)]
    await asyncio.sleep(0.3)
    assert bob.pending_messages() == 0  # no duplicates trailing behind

    # A live message after the resume still arrives, once, next in order.
    await alice.send(room["id"], envelope("after"))
    assert (await bob.next_message())["seq"] == 52
    assert bob.timeline.cursors[room["id"]] == 52


async def test_raw_sync_cursor_protocol(server: LiveServer, new_client: ClientFactory) -> None:
    alice = await new_client(connect=True)
    room = await alice.create_room("cursors")
    for i in range(5):
        await alice.send(room["id"], envelope(str(i)))
    sock = await raw_socket(server, alice)
    ack = await sock.call("sync", {"cursors": {room["id"]: 2}})
    assert ack["ok"] is True
    assert [m["seq"] for m in ack["messages"]] == [3, 4, 5]
    assert ack["has_more"] == []
    bad = await sock.call("sync", {"cursors": {"no-such-room": 0}})
    assert bad["ok"] is True
    assert bad["errors"]["no-such-room"]["code"] == "not_found"
    await sock.close()


async def test_resend_with_same_client_msg_id_stores_nothing_new(
    new_client: ClientFactory,
) -> None:
    alice = await new_client(connect=True)
    room = await alice.create_room("idempotent")
    first = await alice.send(room["id"], envelope("once"), client_msg_id="retry-1")
    again = await alice.send(room["id"], envelope("once"), client_msg_id="retry-1")
    assert again == first
    following = await alice.send(room["id"], envelope("next"))
    assert following["seq"] == first["seq"] + 1  # the resend consumed no sequence number
    history = await alice.history(room["id"])
    assert [m["client_msg_id"] for m in history] == ["retry-1", following["client_msg_id"]]


async def test_history_pages_by_sequence(new_client: ClientFactory) -> None:
    alice = await new_client(connect=True)
    room = await alice.create_room("paging")
    for i in range(25):
        await alice.send(room["id"], envelope(str(i)))
    newest = await alice.history(room["id"], limit=10)
    assert [m["seq"] for m in newest] == list(range(16, 26))
    older = await alice.history(room["id"], before_seq=16, limit=10)
    assert [m["seq"] for m in older] == list(range(6, 16))
    after = await alice.history(room["id"], after_seq=20, limit=3)
    assert [m["seq"] for m in after] == [21, 22, 23]


async def test_typing_and_presence_reach_room_members(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(), await new_client()
    room = await alice.create_room("lively")
    await bob.join(room["id"])
    watcher = await raw_socket(server, alice)
    await bob.connect()
    bob_id = bob.user["id"]  # type: ignore[index]
    online = await watcher.wait_for("presence", where=lambda p: p["user_id"] == bob_id)
    assert online == [
        {
            "user_id": bob_id,
            "username": bob.user["username"],  # type: ignore[index]
            "status": "online",
        }
    ]
    members = {m["user"]["username"]: m for m in await alice.members(room["id"])}
    assert members[bob.user["username"]]["online"] is True  # type: ignore[index]

    await bob.typing(room["id"])
    typing = (await watcher.wait_for("typing"))[-1]
    assert typing["room_id"] == room["id"]
    assert typing["user_id"] == bob.user["id"]  # type: ignore[index]
    assert typing["typing"] is True

    await bob.disconnect()
    bob_events = await watcher.wait_for("presence", 2, where=lambda p: p["user_id"] == bob_id)
    assert [p["status"] for p in bob_events] == ["online", "offline"]
    await watcher.close()
