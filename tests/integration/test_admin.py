"""`sealchat admin` against a running server's database (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import socketio

from tests.envelopes import opaque_envelope
from tests.integration.conftest import PASSWORD, unique_name
from tests.integration.raw_socket import RawSocket
from tests.live_server import TEST_ENV, LiveServer, start_server
from tests.pg_support import create_temp_database, drop_database

FAST_CHECKS = {
    "SEALCHAT_ACCOUNT_CHECK_SECONDS": "0.2",
    "SEALCHAT_REVOCATION_RETRY_MAX_SECONDS": "0.5",
    "SEALCHAT_REVOCATION_RETRY_INITIAL_SECONDS": "0.1",
}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    database_url = asyncio.run(create_temp_database()) if request.param == "postgres" else None
    env = {**FAST_CHECKS, **({"SEALCHAT_DATABASE_URL": database_url} if database_url else {})}
    live = start_server(tmp_path_factory.mktemp(f"admin-{request.param}"), env)
    yield live
    live.stop()
    if database_url:
        asyncio.run(drop_database(database_url))


async def admin(server: LiveServer, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sealchat", "admin", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV, **server.env, **env},
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


async def post(server: LiveServer, path: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.post(path, json=body)


async def get(server: LiveServer, path: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=server.url) as http:
        return await http.get(path, headers={"Authorization": f"Bearer {token}"})


async def sign_up(server: LiveServer) -> dict[str, Any]:
    made = await post(
        server, "/api/auth/register", {"username": unique_name(), "password": PASSWORD}
    )
    assert made.status_code == 201
    account: dict[str, Any] = made.json()
    return account


async def wait_disconnected(sock: RawSocket, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while sock.sio.connected:
        assert time.monotonic() < deadline, "the socket stayed connected"
        await asyncio.sleep(0.05)


async def connect_refused(server: LiveServer, token: str) -> None:
    sock = RawSocket()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sock.connect(server.url, token)


async def test_a_disabled_account_is_shut_out_at_once_and_answers_like_a_wrong_password(
    server: LiveServer,
) -> None:
    alice = await sign_up(server)
    name = alice["user"]["username"]
    sock = RawSocket()
    await sock.connect(server.url, alice["access_token"])

    done = await admin(server, "users", "disable", name)
    assert done.returncode == 0, done.stderr
    assert f"disabled {name}" in done.stdout
    await wait_disconnected(sock)

    wrong = await post(server, "/api/auth/login", {"username": name, "password": "wrong pw 1"})
    right = await post(server, "/api/auth/login", {"username": name, "password": PASSWORD})
    assert right.status_code == wrong.status_code == 401
    assert right.json() == wrong.json()
    refreshed = await post(server, "/api/auth/refresh", {"refresh_token": alice["refresh_token"]})
    assert refreshed.status_code == 401
    # The access token has not expired, but it no longer opens anything.
    assert (await get(server, "/api/rooms", alice["access_token"])).status_code == 401
    await connect_refused(server, alice["access_token"])

    listed = await admin(server, "users", "list", "--json")
    row = next(r for r in map(json.loads, listed.stdout.splitlines()) if r["username"] == name)
    assert row["disabled_at"] is not None

    assert (await admin(server, "users", "enable", name)).returncode == 0
    again = await post(server, "/api/auth/login", {"username": name, "password": PASSWORD})
    assert again.status_code == 200
    await asyncio.sleep(0.5)  # the server's next read of the controls
    sock = RawSocket()
    await sock.connect(server.url, again.json()["access_token"])
    await sock.close()


async def test_revoking_sessions_closes_sockets_and_refuses_earlier_tokens(
    server: LiveServer,
) -> None:
    bob = await sign_up(server)
    name = bob["user"]["username"]
    sock = RawSocket()
    await sock.connect(server.url, bob["access_token"])
    done = await admin(server, "users", "revoke-sessions", name)
    assert done.returncode == 0, done.stderr
    await wait_disconnected(sock)
    await connect_refused(server, bob["access_token"])
    refreshed = await post(server, "/api/auth/refresh", {"refresh_token": bob["refresh_token"]})
    assert refreshed.status_code == 401
    await asyncio.sleep(1.1)  # token times are whole seconds: a new one is issued later
    fresh = await post(server, "/api/auth/login", {"username": name, "password": PASSWORD})
    assert (await get(server, "/api/rooms", fresh.json()["access_token"])).status_code == 200


async def test_reset_password(server: LiveServer) -> None:
    carol = await sign_up(server)
    name = carol["user"]["username"]
    new = "a brand new password"
    done = await admin(server, "users", "reset-password", name, SEALCHAT_NEW_USER_PASSWORD=new)
    assert done.returncode == 0, done.stderr
    old = await post(server, "/api/auth/login", {"username": name, "password": PASSWORD})
    assert old.status_code == 401
    assert (await post(server, "/api/auth/login", {"username": name, "password": new})).is_success
    refreshed = await post(server, "/api/auth/refresh", {"refresh_token": carol["refresh_token"]})
    assert refreshed.status_code == 401
    missing = await admin(server, "users", "disable", "nobody-at-all")
    assert missing.returncode == 1 and "no user" in missing.stderr


async def test_rooms_list_transfer_and_delete(server: LiveServer) -> None:
    owner, member = await sign_up(server), await sign_up(server)
    headers = {"Authorization": f"Bearer {owner['access_token']}"}
    async with httpx.AsyncClient(base_url=server.url) as http:
        room = await http.post("/api/rooms", json={"name": unique_name("room")}, headers=headers)
        room_id = room.json()["room"]["id"]
        joined = await http.post(
            f"/api/rooms/{room_id}/join",
            headers={"Authorization": f"Bearer {member['access_token']}"},
        )
        assert joined.is_success
    sock = RawSocket()
    await sock.connect(server.url, owner["access_token"])
    for i in range(3):
        sent = await sock.call(
            "message:send",
            {"room_id": room_id, "client_msg_id": f"m{i}", "envelope": opaque_envelope(f"{i}")},
        )
        assert sent["ok"], sent
    await sock.close()

    listed = await admin(server, "rooms", "list", "--json")
    row = next(r for r in map(json.loads, listed.stdout.splitlines()) if r["id"] == room_id)
    assert (row["owner"], row["members"], row["last_seq"]) == (
        owner["user"]["username"],
        2,
        3,
    )

    member_name = member["user"]["username"]
    moved = await admin(server, "rooms", "transfer", room_id, member_name)
    assert moved.returncode == 0, moved.stderr
    members = await get(server, f"/api/rooms/{room_id}/members", member["access_token"])
    roles = {m["user"]["username"]: m["role"] for m in members.json()["members"]}
    assert roles == {member_name: "owner", owner["user"]["username"]: "member"}
    stranger = await admin(
        server, "rooms", "transfer", room_id, (await sign_up(server))["user"]["username"]
    )
    assert stranger.returncode == 1 and "must be a member" in stranger.stderr

    gone = await admin(server, "rooms", "delete", room_id, "--yes")
    assert gone.returncode == 0, gone.stderr
    assert "key access revoked for 2 members" in gone.stdout
    history = await get(server, f"/api/rooms/{room_id}/messages", owner["access_token"])
    assert history.status_code == 404
    listed = await admin(server, "rooms", "list", "--json")
    assert room_id not in listed.stdout
