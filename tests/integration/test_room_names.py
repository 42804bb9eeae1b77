"""Public room names are unique on a server, ignoring case; rooms nobody is in are archived
(issue #13, "Rooms"), over HTTP against a live server on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from sealchat.client import ClientError
from tests.integration.conftest import ClientFactory, unique_name
from tests.live_server import LiveServer


async def test_a_public_name_taken_in_any_case_is_refused_with_room_name_taken(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(), await new_client()
    name = unique_name("Town-Hall")
    first = await alice.create_room(name)

    with pytest.raises(ClientError) as raised:
        await bob.create_room(f"  {name.upper()}  ")
    assert raised.value.code == "room_name_taken"
    assert raised.value.status == 409
    # The same over plain HTTP: the documented error shape, nothing half-written.
    async with httpx.AsyncClient(base_url=server.url) as http:
        token = bob.api.access_token
        answer = await http.post(
            "/api/rooms",
            json={"name": name.lower(), "visibility": "public"},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "room_name_taken"
    assert [
        room["id"] for room in await bob.directory() if room["name"].lower() == name.lower()
    ] == [first["id"]]
    assert await bob.rooms() == []
    # A private room may have the same name.
    assert (await bob.create_room(name, visibility="private"))["name"] == name


async def test_concurrent_creations_of_one_name_make_exactly_one_room(
    new_client: ClientFactory,
) -> None:
    people = [await new_client() for _ in range(4)]
    name = unique_name("race")

    results = await asyncio.gather(
        *(person.create_room(name) for person in people), return_exceptions=True
    )

    made = [result for result in results if isinstance(result, dict)]
    refused = [result for result in results if isinstance(result, ClientError)]
    assert len(made) == 1
    assert [error.code for error in refused] == ["room_name_taken"] * 3


async def test_a_room_left_by_its_last_member_is_archived_hidden_and_its_name_free(
    new_client: ClientFactory,
) -> None:
    alice, bob = await new_client(), await new_client()
    carol_name = unique_name()
    carol = await new_client(carol_name)
    name = unique_name("retro")
    room = await alice.create_room(name)
    await bob.join(room["id"])
    await alice.invite(room["id"], carol_name)

    await alice.leave(room["id"])
    listed = {entry["id"]: entry for entry in await carol.directory()}
    assert listed[room["id"]]["member_count"] == 1
    assert (
        listed[room["id"]]["owner"]["username"] == (await bob.me())["username"]
    )  # ownership handed over

    await bob.leave(room["id"])

    assert room["id"] not in {entry["id"] for entry in await carol.directory()}
    assert await carol.invitations() == []
    for attempt in (carol.join(room["id"]), carol.accept_invitation(room["id"])):
        with pytest.raises(ClientError) as raised:
            await attempt
        assert raised.value.code == "not_found"
    again = await carol.create_room(name.upper())
    assert again["id"] != room["id"]
    assert [entry["id"] for entry in await alice.directory() if entry["name"] == name.upper()] == [
        again["id"]
    ]
