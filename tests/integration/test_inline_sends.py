"""``message:send`` handled in the socket's reader (no task per event), over real sockets:
many sends in flight from one socket, bad ones among them, each answered on its own and
the good ones acked and delivered in the order they were sent."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.test_fast_lane import members, socket_of
from tests.live_server import LiveServer


async def test_sends_in_flight_are_acked_in_order_and_bad_ones_fail_alone(
    server: LiveServer, new_client: ClientFactory
) -> None:
    (alice, bob), room_id = await members(new_client, 2)
    elsewhere = (await bob.create_room("not alice's"))["id"]
    sender = await socket_of(server, alice)
    watcher = await socket_of(server, bob)
    acked: list[int] = []  # send indexes, in the order their acks arrived

    def kind(i: int) -> str:
        if i % 13 == 6:
            return "invalid_input"  # not a message:send payload
        if i % 5 == 1:
            return "invalid_envelope"
        if i % 7 == 3:
            return "forbidden"  # a room she is not a member of
        if i % 11 == 10:
            return "resend"  # of message 0
        return "new"

    def body(i: int) -> dict[str, Any]:
        envelope = opaque_envelope(f"m{i}")
        match kind(i):
            case "invalid_input":
                return {"room_id": room_id}
            case "invalid_envelope":
                return {"room_id": room_id, "client_msg_id": f"m-{i}", "envelope": {"v": 1}}
            case "forbidden":
                return {"room_id": elsewhere, "client_msg_id": f"m-{i}", "envelope": envelope}
            case "resend":
                return {"room_id": room_id, "client_msg_id": "m-0", "envelope": envelope}
        return {"room_id": room_id, "client_msg_id": f"m-{i}", "envelope": envelope}

    async def send(i: int) -> dict[str, Any]:
        ack: dict[str, Any] = await sender.call("message:send", body(i))
        acked.append(i)
        return ack

    count = 60
    acks = await asyncio.gather(*(send(i) for i in range(count)))

    for i, ack in enumerate(acks):
        if kind(i) in ("new", "resend"):
            assert ack["ok"] is True, (i, ack)
        else:
            assert ack["error"]["code"] == kind(i), (i, ack)
    new = [i for i in range(count) if kind(i) == "new"]
    # Dense seqs in the order the messages were sent; a resend gets the original back.
    assert [acks[i]["message"]["seq"] for i in new] == list(range(1, len(new) + 1))
    assert all(acks[i]["message"]["seq"] == 1 for i in range(count) if kind(i) == "resend")
    # The stored messages' acks arrive in the order they were sent.
    assert [i for i in acked if i in new] == new
    delivered = await watcher.wait_for("message:new", len(new), timeout=10)
    assert [m["seq"] for m in delivered] == list(range(1, len(new) + 1))
    assert [m["client_msg_id"] for m in delivered] == [f"m-{i}" for i in new]
    await sender.close()
    await watcher.close()
