"""Malformed input gets a clear error; the connection and everyone else keep working."""

from __future__ import annotations

import httpx
import pytest

from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.raw_socket import RawSocket, register_with_room
from tests.live_server import LiveServer, start_server


@pytest.fixture
async def sock_and_room(server: LiveServer, new_client: ClientFactory):  # type: ignore[no-untyped-def]
    alice = await new_client()
    room = await alice.create_room("bad-input")
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
