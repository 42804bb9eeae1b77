"""Property-based fuzzing of every Socket.IO event's payload through a raw socket: every
ack is ``ok`` or a documented error code, the socket stays up, others are unaffected."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.envelopes import opaque_envelope
from tests.integration.raw_socket import RawSocket
from tests.integration.test_admin import sign_up
from tests.live_server import LiveServer, start_server

T = TypeVar("T")
PROTOCOL = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
EVENTS = ["message:send", "sync", "typing", "session:renew"]


def documented_codes() -> set[str]:
    text = PROTOCOL.read_text()
    table = text[text.index("### 6.2 Error codes") : text.index("### 6.3")]
    return set(re.findall(r"^\| `([a-z_]+)` \|", table, re.MULTILINE))


class Session:
    """A live server, a member's raw socket and an onlooker's, driven from a loop in a
    thread of its own (hypothesis runs synchronous examples)."""

    def __init__(self, server: LiveServer) -> None:
        self.server = server
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.room_id, self.sock, self.onlooker = self.run(self._open())

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(30)

    async def _open(self) -> tuple[str, RawSocket, RawSocket]:
        import httpx

        alice, bob = await sign_up(self.server), await sign_up(self.server)
        async with httpx.AsyncClient(base_url=self.server.url) as http:
            made = await http.post(
                "/api/rooms",
                json={"name": "fuzz"},
                headers={"Authorization": f"Bearer {alice['access_token']}"},
            )
            room_id = made.json()["room"]["id"]
            await http.post(
                f"/api/rooms/{room_id}/join",
                headers={"Authorization": f"Bearer {bob['access_token']}"},
            )
        sock, onlooker = RawSocket(), RawSocket()
        await sock.connect(self.server.url, alice["access_token"])
        await onlooker.connect(self.server.url, bob["access_token"])
        return room_id, sock, onlooker

    def close(self) -> None:
        self.run(self.sock.close())
        self.run(self.onlooker.close())
        self.run(self.loop.shutdown_asyncgens())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    server = start_server(
        tmp_path_factory.mktemp("fuzz"),
        {
            "SEALCHAT_SYNC_RATE_PER_SECOND": "1000",
            "SEALCHAT_SYNC_RATE_BURST": "1000",
            "SEALCHAT_TYPING_RATE_PER_SECOND": "1000",
            "SEALCHAT_TYPING_RATE_BURST": "1000",
        },
    )
    found = Session(server)
    yield found
    found.close()
    assert "Traceback" not in server.log_text(), server.log_text()[-3000:]
    server.stop()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5)
    ),
    max_leaves=20,
)
ids = st.one_of(st.text(max_size=80), st.uuids().map(str), st.just("ROOM"), json_values)
room_names = st.one_of(st.text(max_size=80), st.uuids().map(str), st.just("ROOM"))
envelopes = st.one_of(
    json_values,
    st.builds(opaque_envelope, st.text(max_size=30)),
    st.dictionaries(
        st.sampled_from(["v", "alg", "kid", "edk", "iv", "ct", "text", "extra"]),
        json_values,
        max_size=7,
    ),
    st.builds(
        lambda e, k, v: {**e, k: v},
        st.builds(opaque_envelope, st.text(max_size=9)),
        st.sampled_from(["v", "alg", "kid", "edk", "iv", "ct"]),
        json_values,
    ),
)
payloads = {
    "message:send": st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"room_id": ids, "client_msg_id": ids, "envelope": envelopes},
            optional={"extra": json_values},
        ),
    ),
    "sync": st.one_of(
        json_values,
        st.fixed_dictionaries(
            {
                "cursors": st.one_of(
                    json_values,
                    st.dictionaries(
                        ids.filter(lambda x: isinstance(x, str)), json_values, max_size=5
                    ),
                )
            }
        ),
    ),
    "typing": st.one_of(
        json_values, st.fixed_dictionaries({"room_id": ids}, optional={"typing": json_values})
    ),
    "session:renew": st.one_of(json_values, st.fixed_dictionaries({"token": json_values})),
}


def with_room(payload: Any, room_id: str) -> Any:
    """Put the real room where the strategy chose the placeholder "ROOM"."""
    if isinstance(payload, dict):
        return {k: (room_id if v == "ROOM" else with_room(v, room_id)) for k, v in payload.items()}
    return payload


@pytest.mark.parametrize("event", EVENTS)
def test_every_payload_gets_a_documented_answer(session: Session, event: str) -> None:
    codes = documented_codes()

    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(payload=payloads[event])
    def check(payload: Any) -> None:
        ack = session.run(session.sock.call(event, with_room(payload, session.room_id)))
        assert isinstance(ack, dict), ack
        if ack.get("ok") is True:
            return
        assert ack.get("ok") is False, ack
        assert ack["error"]["code"] in codes, ack
        assert isinstance(ack["error"]["message"], str) and ack["error"]["message"], ack

    check()
    # The socket is still up and useful, and the onlooker still hears the room.
    assert session.sock.sio.connected
    ack = session.run(
        session.sock.call(
            "message:send",
            {
                "room_id": session.room_id,
                "client_msg_id": f"after-{event.replace(':', '-')}",
                "envelope": opaque_envelope("still here"),
            },
        )
    )
    assert ack["ok"], ack
    session.run(
        session.onlooker.wait_for(
            "message:new", where=lambda m: m["client_msg_id"] == ack["message"]["client_msg_id"]
        )
    )


def test_unknown_events_and_odd_arguments_never_drop_the_socket(session: Session) -> None:
    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(name=st.text(min_size=1, max_size=30), payload=json_values)
    def check(name: str, payload: Any) -> None:
        session.run(session.sock.sio.emit(name, payload))

    check()
    ack = session.run(session.sock.call("sync", {"cursors": {}}))
    assert ack["ok"], ack
    assert session.sock.sio.connected
