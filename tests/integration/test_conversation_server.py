"""Replies, edits, reactions, deletion and read markers, on the wire (raw sockets, HTTP).

The rules of docs/protocol.md §4.6-4.7, refusals included, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.tables import messages
from sealchat.client import SealchatClient
from sealchat.client.errors import ClientError
from tests.envelopes import label_of, opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.raw_socket import RawSocket
from tests.live_server import LiveServer
from tests.membership import add_member


async def raw_socket(server: LiveServer, client: SealchatClient) -> RawSocket:
    sock = RawSocket()
    assert client.api.access_token
    await sock.connect(server.url, client.api.access_token)
    return sock


async def send(
    sock: RawSocket, room_id: str, label: str, relates_to: dict[str, str] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "room_id": room_id,
        "client_msg_id": uuid.uuid4().hex,
        "envelope": opaque_envelope(label),
    }
    if relates_to is not None:
        body["relates_to"] = relates_to
    ack: dict[str, Any] = await sock.call("message:send", body)
    return ack


async def sent(sock: RawSocket, room_id: str, label: str, **relation: str) -> dict[str, Any]:
    relates_to = {"type": relation["type"], "message_id": relation["to"]} if relation else None
    ack = await send(sock, room_id, label, relates_to)
    assert ack["ok"] is True, ack
    message: dict[str, Any] = ack["message"]
    return message


def refused(ack: dict[str, Any], code: str) -> bool:
    return ack["ok"] is False and ack["error"]["code"] == code


async def history(client: SealchatClient, room_id: str) -> list[dict[str, Any]]:
    page = await client.api.get(f"/api/rooms/{room_id}/messages", limit=200)
    found: list[dict[str, Any]] = page["messages"]
    return found


async def pair(
    server: LiveServer, new_client: ClientFactory, name: str
) -> tuple[SealchatClient, SealchatClient, str, RawSocket, RawSocket]:
    """Alice owns a room Bob is a member of; a raw socket each."""
    alice, bob = await new_client(), await new_client()
    room = await alice.create_room(name)
    await bob.join(room["id"])
    return alice, bob, room["id"], await raw_socket(server, alice), await raw_socket(server, bob)


async def test_relations_are_messages_with_their_own_seq(
    server: LiveServer, new_client: ClientFactory
) -> None:
    _, bob, room_id, a, b = await pair(server, new_client, "relations")
    original = await sent(a, room_id, "hello")
    assert original["relates_to"] is None and original["deleted"] is False

    reply = await sent(b, room_id, "hi back", type="reply", to=original["id"])
    edit = await sent(a, room_id, "hello!", type="edit", to=original["id"])
    reaction = await sent(b, room_id, "+1", type="reaction", to=original["id"])
    reply_to_reply = await sent(a, room_id, "yes", type="reply", to=reply["id"])
    edit_of_reply = await sent(b, room_id, "hi back!", type="edit", to=reply["id"])

    assert [m["seq"] for m in (original, reply, edit, reaction)] == [1, 2, 3, 4]
    assert reply["relates_to"] == {"type": "reply", "message_id": original["id"]}
    assert edit["relates_to"] == {"type": "edit", "message_id": original["id"]}
    assert reaction["relates_to"] == {"type": "reaction", "message_id": original["id"]}
    assert reply_to_reply["relates_to"]["message_id"] == reply["id"]
    assert edit_of_reply["relates_to"] == {"type": "edit", "message_id": reply["id"]}
    # Delivered live with the relation, and the same in history.
    live = await a.wait_for("message:new", 3)
    assert [m["relates_to"] for m in live] == [
        reply["relates_to"],
        reaction["relates_to"],
        edit_of_reply["relates_to"],
    ]
    stored = await history(bob, room_id)
    assert [(m["seq"], m["relates_to"]) for m in stored] == [
        (m["seq"], m["relates_to"])
        for m in (original, reply, edit, reaction, reply_to_reply, edit_of_reply)
    ]
    assert label_of(stored[2]["envelope"]) == "hello!"
    # A resend of a relation returns the original, not a second copy.
    body = {
        "room_id": room_id,
        "client_msg_id": "react-once",
        "envelope": opaque_envelope(":)"),
        "relates_to": {"type": "reaction", "message_id": original["id"]},
    }
    first, again = await b.call("message:send", body), await b.call("message:send", body)
    assert first["message"]["id"] == again["message"]["id"]
    await a.close()
    await b.close()


async def test_relations_are_refused_by_the_rules(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, _, room_id, a, b = await pair(server, new_client, "relation-rules")
    elsewhere = (await alice.create_room("elsewhere"))["id"]
    original = await sent(a, room_id, "hello")
    edit = await sent(a, room_id, "hello!", type="edit", to=original["id"])
    reaction = await sent(b, room_id, "+1", type="reaction", to=original["id"])
    abroad = await sent(a, elsewhere, "other room")
    last_seq = edit["seq"] + 1

    def to(kind: str, message_id: str) -> dict[str, str]:
        return {"type": kind, "message_id": message_id}

    # The target must exist in the same room.
    assert refused(await send(a, room_id, "x", to("reply", "no-such-message")), "not_found")
    assert refused(await send(a, room_id, "x", to("reply", abroad["id"])), "not_found")
    # Only the sender edits.
    assert refused(await send(b, room_id, "x", to("edit", original["id"])), "forbidden")
    # No edit of an edit; no relation to a reaction.
    assert refused(await send(a, room_id, "x", to("edit", edit["id"])), "invalid_input")
    assert refused(await send(a, room_id, "x", to("reply", reaction["id"])), "invalid_input")
    # Deletion is message:delete, not a relation one sends.
    assert refused(await send(a, room_id, "x", to("delete", original["id"])), "invalid_input")
    assert refused(await send(a, room_id, "x", {"type": "reply"}), "invalid_input")
    # A non-member learns nothing about the target: the room's error, as for any send.
    carol = await new_client()
    c = await raw_socket(server, carol)
    private = (await alice.create_room("private-rel", "private"))["id"]
    secret = await sent(a, private, "secret")
    assert refused(await send(c, private, "x", to("reply", secret["id"])), "not_found")
    assert refused(await send(c, room_id, "x", to("edit", original["id"])), "forbidden")
    # Relations to a deleted message are refused.
    assert (await a.call("message:delete", {"room_id": room_id, "message_id": original["id"]}))[
        "ok"
    ]
    for kind in ("reply", "edit", "reaction"):
        assert refused(await send(a, room_id, "x", to(kind, original["id"])), "invalid_input")
    # Nothing refused took a seq: the deletion marker came right after the last message.
    assert [m["seq"] for m in await history(alice, room_id)][-1] == last_seq + 1
    for sock in (a, b, c):
        await sock.close()


async def test_delete_erases_the_message_its_edits_and_reactions(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob, room_id, a, b = await pair(server, new_client, "deletion")
    original = await sent(b, room_id, "secret-original")
    edit = await sent(b, room_id, "secret-edit", type="edit", to=original["id"])
    reaction = await sent(a, room_id, "secret-reaction", type="reaction", to=original["id"])
    reply = await sent(a, room_id, "kept-reply", type="reply", to=original["id"])
    kept = await sent(a, room_id, "kept-plain")

    ack = await b.call("message:delete", {"room_id": room_id, "message_id": original["id"]})
    assert ack["ok"] is True
    marker = ack["message"]
    assert marker["relates_to"] == {"type": "delete", "message_id": original["id"]}
    assert marker["envelope"] is None and marker["deleted"] is False
    assert marker["seq"] == kept["seq"] + 1 and marker["sender_id"] == bob.user["id"]  # type: ignore[index]
    # Alice's socket hears the marker live.
    (live,) = await a.wait_for("message:new", where=lambda m: m["id"] == marker["id"])
    assert live == marker

    stored = {m["id"]: m for m in await history(alice, room_id)}
    for gone in (original, edit, reaction):
        assert stored[gone["id"]]["envelope"] is None
        assert stored[gone["id"]]["deleted"] is True
        assert stored[gone["id"]]["relates_to"] == gone["relates_to"]
    assert label_of(stored[reply["id"]]["envelope"]) == "kept-reply"
    assert stored[reply["id"]]["deleted"] is False
    assert label_of(stored[kept["id"]]["envelope"]) == "kept-plain"
    # Sync says the same as history.
    synced = await a.call("sync", {"cursors": {room_id: 0}})
    assert {m["id"]: m for m in synced["messages"]} == stored

    # Deleting again returns the first marker; nothing new is appended.
    again = await a.call("message:delete", {"room_id": room_id, "message_id": original["id"]})
    assert again["ok"] is True and again["message"] == marker
    assert len(await history(alice, room_id)) == len(stored)
    await assert_erased(server, [original, edit, reaction], ["kept-reply", "kept-plain"])
    await a.close()
    await b.close()


async def test_who_may_delete(server: LiveServer, new_client: ClientFactory) -> None:
    alice, bob, room_id, a, b = await pair(server, new_client, "delete-rules")
    carol = await new_client()
    await carol.join(room_id)
    c = await raw_socket(server, carol)
    by_carol = await sent(c, room_id, "carol's")
    by_bob = await sent(b, room_id, "bob's")
    reaction = await sent(c, room_id, "+1", type="reaction", to=by_bob["id"])

    def delete(sock: RawSocket, message_id: str, room: str = room_id) -> Any:
        return sock.call("message:delete", {"room_id": room, "message_id": message_id})

    # A member deletes only their own; the owner (moderation) anyone's.
    assert refused(await delete(b, by_carol["id"]), "forbidden")
    assert (await delete(a, by_carol["id"]))["ok"] is True
    # A reaction is taken back by deleting it.
    ack = await delete(c, reaction["id"])
    assert ack["ok"] is True
    stored = {m["id"]: m for m in await history(bob, room_id)}
    assert stored[reaction["id"]]["deleted"] is True
    assert stored[by_bob["id"]]["deleted"] is False
    # Unknown messages, markers, other rooms, non-members.
    assert refused(await delete(b, "no-such-message"), "not_found")
    assert refused(await delete(a, ack["message"]["id"]), "invalid_input")
    elsewhere = (await alice.create_room("delete-elsewhere", "private"))["id"]
    abroad = await sent(a, elsewhere, "abroad")
    assert refused(await delete(a, abroad["id"]), "not_found")  # not in this room
    assert refused(await delete(b, abroad["id"], elsewhere), "not_found")  # private room
    assert refused(await delete(b, "x" * 65), "invalid_input")
    for sock in (a, b, c):
        await sock.close()


async def test_relations_and_deletions_arrive_through_sync_after_a_disconnect(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("sync-relations")
    await bob.join(room["id"])
    await bob.connect()
    first = await alice.send(room["id"], opaque_envelope("first"))
    assert (await bob.next_message())["seq"] == 1
    await bob.disconnect()

    a = await raw_socket(server, alice)
    edit = await sent(a, room["id"], "first!", type="edit", to=first["id"])
    reply = await sent(a, room["id"], "again", type="reply", to=first["id"])
    gone = await a.call("message:delete", {"room_id": room["id"], "message_id": reply["id"]})

    await bob.connect()
    missed = [await bob.next_message() for _ in range(3)]
    assert [m["id"] for m in missed] == [edit["id"], reply["id"], gone["message"]["id"]]
    assert missed[0]["relates_to"] == {"type": "edit", "message_id": first["id"]}
    assert missed[1]["deleted"] is True and missed[1]["envelope"] is None
    assert missed[2]["relates_to"] == {"type": "delete", "message_id": reply["id"]}
    await a.close()


async def test_read_markers_move_forward_and_count_unread(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob, room_id, a, b = await pair(server, new_client, "unread")
    first = await sent(a, room_id, "one")
    await sent(a, room_id, "two")
    await sent(b, room_id, "bob's own")  # one's own messages are never unread
    await sent(b, room_id, "+1", type="reaction", to=first["id"])  # nor relations...
    await sent(a, room_id, "fixed", type="edit", to=first["id"])
    reply = await sent(a, room_id, "re", type="reply", to=first["id"])  # ...but replies are

    async def state(client: SealchatClient) -> tuple[int, int]:
        rooms = await client.api.get("/api/rooms")
        (mine,) = [r for r in rooms["rooms"] if r["id"] == room_id]
        return mine["last_read_seq"], mine["unread"]

    assert await state(bob) == (0, 3)
    bob_sockets = [await raw_socket(server, bob), b]
    marked = await bob.api.post(f"/api/rooms/{room_id}/read", {"seq": first["seq"]})
    assert marked == {"room_id": room_id, "last_read_seq": 1, "unread": 2}
    assert await state(bob) == (1, 2)
    # Every socket of Bob hears it; Alice's does not.
    for sock in bob_sockets:
        (update,) = await sock.wait_for("read:updated")
        assert update == {"room_id": room_id, "seq": 1}
    # Never back; never past the room's last message; the same marker says nothing new.
    await bob.api.post(f"/api/rooms/{room_id}/read", {"seq": 0})
    assert await state(bob) == (1, 2)
    await bob.api.post(f"/api/rooms/{room_id}/read", {"seq": 10**9})
    assert await state(bob) == (reply["seq"], 0)
    await bob.api.post(f"/api/rooms/{room_id}/read", {"seq": reply["seq"]})
    for sock in bob_sockets:
        got = await sock.wait_for("read:updated", 2)
        assert got[-1] == {"room_id": room_id, "seq": reply["seq"]}
    await asyncio.sleep(0.2)
    assert len(bob_sockets[0].of("read:updated")) == 2
    assert a.of("read:updated") == []
    # "Seen by": members see each other's markers.
    members = {m["user"]["id"]: m["last_read_seq"] for m in await alice.members(room_id)}
    assert members == {alice.user["id"]: 0, bob.user["id"]: reply["seq"]}  # type: ignore[index]
    # Someone who joins later has nothing unread from before.
    carol = await new_client()
    await carol.join(room_id)
    assert await state(carol) == (reply["seq"], 0)
    for sock in (*bob_sockets, a):
        await sock.close()


async def test_read_marker_refusals(server: LiveServer, new_client: ClientFactory) -> None:
    alice, bob = await new_client(), await new_client()
    public = (await alice.create_room("read-public"))["id"]
    private = (await alice.create_room("read-private", "private"))["id"]
    with pytest.raises(ClientError) as refusal:
        await bob.api.post(f"/api/rooms/{public}/read", {"seq": 1})
    assert refusal.value.code == "forbidden"
    with pytest.raises(ClientError) as refusal:
        await bob.api.post(f"/api/rooms/{private}/read", {"seq": 1})
    assert refusal.value.code == "not_found"
    for bad in ({"seq": -1}, {"seq": "1"}, {"seq": 2**53}, {}, {"seq": 1, "x": 2}):
        with pytest.raises(ClientError) as refusal:
            await alice.api.post(f"/api/rooms/{public}/read", bad)
        assert refusal.value.code == "invalid_input"


async def test_seen_by_is_left_out_in_big_rooms(
    server: LiveServer, new_client: ClientFactory
) -> None:
    owner = await new_client()
    room = await owner.create_room("big-room", "private")
    for _ in range(50):
        await add_member(owner, await new_client(), room["id"])
    members = await owner.members(room["id"])
    assert len(members) == 51
    assert {m["last_read_seq"] for m in members} == {None}


async def assert_erased(server: LiveServer, gone: list[dict[str, Any]], kept: list[str]) -> None:
    """The deleted envelopes' ciphertext is nowhere in the database; kept ones are."""
    ciphertexts = [m["envelope"]["ct"].encode() for m in gone]
    url = server.env.get("SEALCHAT_DATABASE_URL")
    if url is None:
        files = [server.data_dir / name for name in ("sealchat.db", "sealchat.db-wal")]
        contents = b"".join(path.read_bytes() for path in files if path.exists())
        assert contents, "the database files are where the test expects them"
        for ct in ciphertexts:
            assert ct not in contents
        assert _kept_in_database(server.data_dir, kept)
        return
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(select(messages.c.envelope))).scalars().all()
            dumped = "".join(r or "" for r in rows)
            # The table's own text, as pg_dump would see it: no trace of the erased.
            everything = (
                await conn.execute(text("SELECT string_agg(m::text, '') FROM messages m"))
            ).scalar_one()
    finally:
        await engine.dispose()
    for ct in ciphertexts:
        assert ct.decode() not in dumped and ct.decode() not in everything
    for label in kept:
        assert opaque_envelope(label)["ct"] in dumped


def _kept_in_database(data_dir: Path, kept: list[str]) -> bool:
    conn = sqlite3.connect(data_dir / "sealchat.db")
    try:
        stored = "".join(row[0] or "" for row in conn.execute("SELECT envelope FROM messages"))
    finally:
        conn.close()
    return all(opaque_envelope(label)["ct"] in stored for label in kept)
