"""A non-member is refused on every route and event of a private room."""

from __future__ import annotations

import httpx
import pytest

from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.raw_socket import RawSocket
from tests.live_server import LiveServer
from tests.membership import add_member

ENVELOPE = opaque_envelope("secret")


@pytest.fixture
async def private_room(new_client: ClientFactory) -> dict[str, object]:
    owner, member = await new_client(), await new_client()
    room = await owner.create_room("private-plans", visibility="private")
    await add_member(owner, member, room["id"])
    await owner.connect()
    await owner.send(room["id"], ENVELOPE)
    return {"room": room, "owner": owner, "member": member}


async def test_outsider_is_refused_on_every_http_route(
    server: LiveServer, new_client: ClientFactory, private_room: dict[str, object]
) -> None:
    outsider = await new_client()
    room_id = private_room["room"]["id"]  # type: ignore[index]
    owner_id = private_room["owner"].user["id"]  # type: ignore[attr-defined]
    headers = {"Authorization": f"Bearer {outsider.api.access_token}"}
    attempts = [
        ("GET", f"/api/rooms/{room_id}", None),
        ("GET", f"/api/rooms/{room_id}/messages", None),
        ("GET", f"/api/rooms/{room_id}/members", None),
        ("POST", f"/api/rooms/{room_id}/members", {"username": outsider.user["username"]}),  # type: ignore[index]
        ("DELETE", f"/api/rooms/{room_id}/members/{owner_id}", None),
        ("POST", f"/api/rooms/{room_id}/invitations", {"username": outsider.user["username"]}),  # type: ignore[index]
        ("DELETE", f"/api/rooms/{room_id}/invitations/{owner_id}", None),
        ("POST", f"/api/invitations/{room_id}/accept", None),
        ("POST", f"/api/invitations/{room_id}/decline", None),
        ("POST", f"/api/rooms/{room_id}/join", None),
        ("POST", f"/api/rooms/{room_id}/leave", None),
    ]
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        for method, path, body in attempts:
            response = await http.request(method, path, json=body)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"] == "not_found"
        directory = (await http.get("/api/rooms/directory")).json()["rooms"]
        mine = (await http.get("/api/rooms")).json()["rooms"]
    assert room_id not in {r["id"] for r in directory + mine}


async def test_outsider_is_refused_on_every_socket_event(
    server: LiveServer, new_client: ClientFactory, private_room: dict[str, object]
) -> None:
    outsider = await new_client()
    room_id = private_room["room"]["id"]  # type: ignore[index]
    sock = RawSocket()
    await sock.connect(server.url, outsider.api.access_token or "")
    send = await sock.call(
        "message:send", {"room_id": room_id, "client_msg_id": "x1", "envelope": ENVELOPE}
    )
    assert send == {"ok": False, "error": {"code": "not_found", "message": "room not found"}}
    typing = await sock.call("typing", {"room_id": room_id, "typing": True})
    assert typing["error"]["code"] == "not_found"
    sync = await sock.call("sync", {"cursors": {room_id: 0}})
    assert sync["messages"] == []
    assert sync["errors"][room_id]["code"] == "not_found"
    # Nothing the outsider did reached the room.
    owner = private_room["owner"]
    history = await owner.history(room_id)  # type: ignore[attr-defined]
    assert [m["client_msg_id"] for m in history] != [] and all(
        m["sender_id"] == owner.user["id"]
        for m in history  # type: ignore[attr-defined]
    )
    assert sock.of("message:new") == []
    await sock.close()


async def test_members_only_operations_and_owner_rules(
    new_client: ClientFactory, private_room: dict[str, object]
) -> None:
    room_id = private_room["room"]["id"]  # type: ignore[index]
    member = private_room["member"]
    owner = private_room["owner"]
    # A plain member can read but cannot manage membership.
    assert len(await member.history(room_id)) == 1  # type: ignore[attr-defined]
    stranger = await new_client()
    with pytest.raises(Exception) as refused:
        await member.invite(room_id, stranger.user["username"])  # type: ignore[attr-defined,index]
    assert refused.value.code == "forbidden"  # type: ignore[attr-defined]
    with pytest.raises(Exception) as refused:
        await member.remove_member(room_id, owner.user["id"])  # type: ignore[attr-defined]
    assert refused.value.code == "forbidden"  # type: ignore[attr-defined]


async def test_public_room_requires_joining_before_reading_or_sending(
    server: LiveServer, new_client: ClientFactory
) -> None:
    owner, visitor = await new_client(), await new_client()
    room = await owner.create_room("open-house", visibility="public")
    assert room["id"] in {r["id"] for r in await visitor.directory()}
    with pytest.raises(Exception) as refused:
        await visitor.history(room["id"])
    assert refused.value.code == "forbidden"  # type: ignore[attr-defined]
    sock = RawSocket()
    await sock.connect(server.url, visitor.api.access_token or "")
    ack = await sock.call(
        "message:send", {"room_id": room["id"], "client_msg_id": "v1", "envelope": ENVELOPE}
    )
    assert ack["error"]["code"] == "forbidden"
    await visitor.join(room["id"])
    ack = await sock.call(
        "message:send", {"room_id": room["id"], "client_msg_id": "v1", "envelope": ENVELOPE}
    )
    assert ack["ok"] is True
    await sock.close()


async def test_removed_member_stops_receiving_and_cannot_send(
    server: LiveServer, new_client: ClientFactory
) -> None:
    owner, member = await new_client(connect=True), await new_client()
    room = await owner.create_room("shrinking", visibility="private")
    sock = RawSocket()
    await sock.connect(server.url, member.api.access_token or "")
    await add_member(owner, member, room["id"])
    joined = await sock.wait_for("room:joined")
    assert joined[0]["id"] == room["id"]
    await owner.send(room["id"], ENVELOPE)
    await sock.wait_for("message:new")  # subscribed live on being added

    await owner.remove_member(room["id"], member.user["id"])  # type: ignore[index]
    left = await sock.wait_for("room:left")
    assert left == [{"room_id": room["id"], "reason": "removed"}]
    await owner.send(room["id"], ENVELOPE)
    ack = await sock.call(
        "message:send", {"room_id": room["id"], "client_msg_id": "late", "envelope": ENVELOPE}
    )
    assert ack["error"]["code"] == "not_found"
    assert len(sock.of("message:new")) == 1
    await sock.close()
