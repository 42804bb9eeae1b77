"""Nobody is put into a room without consent: adding someone invites them (issue #16 item 1)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sealchat.client import ClientError
from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.raw_socket import RawSocket
from tests.live_server import LiveServer


async def test_adding_someone_only_invites_them_until_they_accept(
    server: LiveServer, new_client: ClientFactory
) -> None:
    eve, bob = await new_client(), await new_client()
    bob_name = bob.user["username"]  # type: ignore[index]
    eve_name = eve.user["username"]  # type: ignore[index]
    ops = await eve.create_room("OPS", visibility="private")
    sock = RawSocket()
    await sock.connect(server.url, bob.api.access_token or "")

    # The old way of adding someone, straight over HTTP: now it is an invitation.
    headers = {"Authorization": f"Bearer {eve.api.access_token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        added = await http.post(f"/api/rooms/{ops['id']}/members", json={"username": bob_name})
    assert added.status_code == 201, added.text
    assert added.json()["status"] == "invited"

    (new,) = await sock.wait_for("invitation:new")
    assert new["inviter"] == {"id": eve.user["id"], "username": eve_name}  # type: ignore[index]
    assert new["room"]["id"] == ops["id"] and new["room"]["name"] == "OPS"
    assert new["room"]["owner"]["username"] == eve_name
    assert new["room"]["member_count"] == 1
    # Not a member yet: not in bob's rooms, nothing readable, nothing sendable.
    assert ops["id"] not in {r["id"] for r in await bob.rooms()}
    with pytest.raises(ClientError) as refused:
        await bob.history(ops["id"])
    assert refused.value.code == "not_found"
    ack = await sock.call(
        "message:send",
        {"room_id": ops["id"], "client_msg_id": "b1", "envelope": opaque_envelope("x")},
    )
    assert ack["error"]["code"] == "not_found"
    assert sock.of("room:joined") == []
    assert [m["user"]["username"] for m in await eve.members(ops["id"])] == [eve_name]

    (pending,) = await bob.invitations()
    assert pending["room"]["id"] == ops["id"] and pending["inviter"]["username"] == eve_name
    again = await eve.invite(ops["id"], bob_name)  # idempotent
    assert again["status"] == "already_invited"
    assert again["invitation"]["room"]["id"] == ops["id"]

    joined = await bob.accept_invitation(ops["id"])

    assert joined["id"] == ops["id"] and joined["role"] == "member"
    await sock.wait_for("room:joined")
    assert (await sock.wait_for("invitation:closed"))[0] == {
        "room_id": ops["id"],
        "reason": "accepted",
    }
    await eve.connect()
    await eve.send(ops["id"], opaque_envelope("welcome"))
    await sock.wait_for("message:new")  # subscribed on accepting
    assert await bob.invitations() == []
    member = await eve.invite(ops["id"], bob_name)
    assert member["status"] == "already_member"
    assert member["member"]["user"]["username"] == bob_name
    await sock.close()


async def test_an_invitation_can_be_declined_or_taken_back(
    server: LiveServer, new_client: ClientFactory
) -> None:
    eve, bob = await new_client(), await new_client(connect=True)
    bob_name = bob.user["username"]  # type: ignore[index]
    room = await eve.create_room("lure", visibility="private")
    seen: asyncio.Queue[tuple[str, dict[str, object]]] = asyncio.Queue()
    for event in ("invitation:new", "invitation:closed"):
        bob.on(event, lambda payload, event=event: seen.put_nowait((event, payload)))
    await eve.invite(room["id"], bob_name)
    event, payload = await asyncio.wait_for(seen.get(), 10)
    assert event == "invitation:new" and payload["room"]["id"] == room["id"]  # type: ignore[index]

    await bob.decline_invitation(room["id"])
    closed = await asyncio.wait_for(seen.get(), 10)
    assert closed == ("invitation:closed", {"room_id": room["id"], "reason": "declined"})

    assert await bob.invitations() == []
    with pytest.raises(ClientError) as refused:
        await bob.accept_invitation(room["id"])
    assert refused.value.code == "not_found"
    assert usernames(await eve.members(room["id"])) == [eve.user["username"]]  # type: ignore[index]

    await eve.invite(room["id"], bob_name)
    await eve.cancel_invitation(room["id"], bob.user["id"])  # type: ignore[index]
    assert await bob.invitations() == []
    with pytest.raises(ClientError) as refused:
        await bob.accept_invitation(room["id"])
    assert refused.value.code == "not_found"
    # Only an owner invites.
    carol = await new_client()
    await eve.invite(room["id"], carol.user["username"])  # type: ignore[index]
    await carol.accept_invitation(room["id"])
    with pytest.raises(ClientError) as refused:
        await carol.invite(room["id"], bob_name)
    assert refused.value.code == "forbidden"


def usernames(members: list[dict[str, object]]) -> list[object]:
    return [m["user"]["username"] for m in members]  # type: ignore[index]
