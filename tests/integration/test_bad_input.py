"""Malformed input gets a clear error; the connection and everyone else keep working."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory, unique_name
from tests.integration.raw_socket import RawSocket, register_with_room
from tests.live_server import LiveServer, start_server


@pytest.fixture
async def sock_and_room(server: LiveServer, new_client: ClientFactory):  # type: ignore[no-untyped-def]
    alice = await new_client()
    room = await alice.create_room(unique_name("bad-input"))
    sock = RawSocket()
    await sock.connect(server.url, alice.api.access_token or "")
    yield sock, room, alice
    await sock.close()


GOOD = opaque_envelope("fine")


@pytest.mark.parametrize(
    "payload, code",
    [
        (None, "invalid_input"),
        ("just a string", "invalid_input"),
        ([1, 2, 3], "invalid_input"),
        ({"room_id": "r"}, "invalid_input"),
        ({"room_id": "ROOM", "client_msg_id": "m", "envelope": "plaintext!"}, "invalid_input"),
        ({"room_id": "ROOM", "client_msg_id": "m", "envelope": {}}, "invalid_input"),
        (
            {"room_id": "ROOM", "client_msg_id": "bad id with spaces", "envelope": GOOD},
            "invalid_input",
        ),
        (
            {"room_id": "ROOM", "client_msg_id": "m", "envelope": GOOD, "extra": True},
            "invalid_input",
        ),
        ({"room_id": "no-such-room", "client_msg_id": "m", "envelope": GOOD}, "not_found"),
        # Plaintext, or anything that is not a sealed envelope v1, is refused.
        (
            {"room_id": "ROOM", "client_msg_id": "m", "envelope": {"text": "hello"}},
            "invalid_envelope",
        ),
        (
            {"room_id": "ROOM", "client_msg_id": "m", "envelope": {**GOOD, "text": "hello"}},
            "invalid_envelope",
        ),
        (
            {"room_id": "ROOM", "client_msg_id": "m", "envelope": {**GOOD, "v": 2}},
            "invalid_envelope",
        ),
        (
            {"room_id": "ROOM", "client_msg_id": "m", "envelope": {**GOOD, "iv": "AAAA"}},
            "invalid_envelope",
        ),
        (
            {"room_id": "ROOM", "client_msg_id": "m", "envelope": opaque_envelope("x" * 70_000)},
            "payload_too_large",
        ),
    ],
)
async def test_malformed_send_gets_error_ack_and_connection_survives(
    sock_and_room: tuple[RawSocket, dict[str, str], object], payload: object, code: str
) -> None:
    sock, room, _ = sock_and_room
    if isinstance(payload, dict) and payload.get("room_id") == "ROOM":
        payload = {**payload, "room_id": room["id"]}
    ack = await sock.call("message:send", payload)
    assert ack["ok"] is False
    assert ack["error"]["code"] == code
    assert ack["error"]["message"]
    # The same connection still works, and nothing was stored by the bad attempt.
    good = await sock.call(
        "message:send", {"room_id": room["id"], "client_msg_id": "ok", "envelope": GOOD}
    )
    assert good["ok"] is True
    assert good["message"]["seq"] == 1


async def test_unknown_event_and_bad_sync_do_not_break_the_socket(
    sock_and_room: tuple[RawSocket, dict[str, str], object],
) -> None:
    sock, room, _ = sock_and_room
    assert (await sock.call("sync", {"cursors": "everything"}))["error"]["code"] == "invalid_input"
    assert (await sock.call("sync", {"cursors": {room["id"]: "x"}}))["ok"] is False
    assert (await sock.call("typing", {"typing": True}))["error"]["code"] == "invalid_input"
    await sock.sio.emit("no:such:event", {"x": 1})
    assert (await sock.call("sync", {"cursors": {room["id"]: 0}}))["ok"] is True


async def test_rate_limit_gives_a_clear_error(tmp_path_factory: pytest.TempPathFactory) -> None:
    limited = start_server(
        tmp_path_factory.mktemp("limited"),
        {"SEALCHAT_MESSAGE_RATE_PER_SECOND": "1", "SEALCHAT_MESSAGE_RATE_BURST": "3"},
    )
    try:
        token, room_id = await register_with_room(limited.url, "speedy", "fast")
        sock = RawSocket()
        await sock.connect(limited.url, token)
        acks = [
            await sock.call(
                "message:send",
                {"room_id": room_id, "client_msg_id": f"m{i}", "envelope": GOOD},
            )
            for i in range(5)
        ]
        assert [a["ok"] for a in acks] == [True, True, True, False, False]
        assert acks[3]["error"]["code"] == "rate_limited"
        await sock.close()
    finally:
        limited.stop()


async def test_http_bad_input_gets_4xx_in_the_error_shape(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice = await new_client()
    headers = {"Authorization": f"Bearer {alice.api.access_token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        cases = [
            await http.post(
                "/api/rooms", content=b"{not json", headers={"content-type": "application/json"}
            ),
            await http.post("/api/rooms", json={"name": ""}),
            await http.post("/api/rooms", json={"name": "x", "visibility": "secret"}),
            await http.post("/api/rooms", json={"name": "ok", "unexpected": 1}),
            await http.get("/api/rooms/nope/messages", params={"limit": "lots"}),
            await http.post("/api/dms", json={"username": "nobody-here"}),
            await http.get("/api/rooms/nope"),
            await http.post(
                "/api/rooms", content=b"x" * 300_000, headers={"content-type": "application/json"}
            ),
            await http.get("/api/no/such/route"),
        ]
        unauthenticated = await http.get("/api/me", headers={"Authorization": "Bearer junk"})
    statuses = [r.status_code for r in cases]
    assert statuses == [422, 422, 422, 422, 422, 404, 404, 413, 404]
    for response in [*cases, unauthenticated]:
        error = response.json()["error"]
        assert set(error) == {"code", "message"} and error["code"] and error["message"]
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["error"]["code"] == "unauthorized"


async def test_huge_sequence_numbers_are_refused_not_500(
    server: LiveServer, sock_and_room: tuple[RawSocket, dict[str, str], object]
) -> None:
    """Issue #16 item 11: after_seq=10**30 overflowed the database driver (a 500)."""
    sock, room, alice = sock_and_room
    headers = {"Authorization": f"Bearer {alice.api.access_token}"}  # type: ignore[attr-defined]
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        for name in ("after_seq", "before_seq"):
            for value in (10**30, 2**63, 2**53):
                answer = await http.get(f"/api/rooms/{room['id']}/messages", params={name: value})
                assert answer.status_code == 422, (name, value)
                assert answer.json()["error"]["code"] == "invalid_input"
        fine = await http.get(f"/api/rooms/{room['id']}/messages", params={"after_seq": 2**53 - 1})
        assert fine.status_code == 200
    for cursor in (10**30, 2**63, -(2**63)):
        ack = await sock.call("sync", {"cursors": {room["id"]: cursor}})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_input", cursor
    for cursor in (2**53 - 1, -1):
        assert (await sock.call("sync", {"cursors": {room["id"]: cursor}}))["ok"] is True
    assert "Traceback" not in server.log_text()


async def test_deeply_nested_json_on_the_socket_is_refused_cleanly(
    server: LiveServer, sock_and_room: tuple[RawSocket, dict[str, str], object]
) -> None:
    """Issue #16 item 11: 100k-deep JSON made the packet decoder log a RecursionError."""
    sock, room, _ = sock_and_room
    depth = 100_000
    deep = "[" * depth + "]" * depth
    answered: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    ack_id = sock.sio._generate_ack_id("/", lambda *args: answered.set_result(args))
    # A raw Socket.IO EVENT packet (type 2, with an ack id): no JSON encoder of ours
    # would produce it, but anyone can send it.
    await sock.sio.eio.send(f'2{ack_id}["sync",{deep}]')
    (ack,) = await asyncio.wait_for(answered, 10)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_input"  # type: ignore[index]
    # Without an ack id, and as a bare engine.io message: no answer, no traceback.
    await sock.sio.eio.send(f'2["typing",{deep}]')
    await sock.sio.eio.send(deep)
    assert (await sock.call("sync", {"cursors": {room["id"]: 0}}))["ok"] is True
    log = server.log_text()
    assert "RecursionError" not in log and "Traceback" not in log, log[-6000:]
