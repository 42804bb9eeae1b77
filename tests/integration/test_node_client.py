"""The official Node socket.io-client v4 speaks to the server as well as the Python one."""

from __future__ import annotations

import pytest

from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.node_client import NodeClient
from tests.live_server import LiveServer

pytestmark = pytest.mark.node


async def test_node_and_python_clients_exchange_messages(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("polyglot")
    await bob.join(room["id"])
    node = await NodeClient.start(server.url, bob.api.access_token or "")
    try:
        await node.wait(lambda line: line["type"] == "connected")
        ack = await node.call(
            "message:send",
            {
                "room_id": room["id"],
                "client_msg_id": "n-1",
                "envelope": opaque_envelope("from node"),
            },
        )
        assert ack["ok"] is True and ack["message"]["seq"] == 1
        got = await alice.next_message()
        assert got["envelope"] == opaque_envelope("from node")
        assert got["sender_id"] == bob.user["id"]  # type: ignore[index]

        await alice.send(room["id"], opaque_envelope("from python"))
        line = await node.wait(
            lambda line: line["type"] == "event" and line["event"] == "message:new"
        )
        assert line["payload"]["envelope"] == opaque_envelope("from python")
        assert line["payload"]["seq"] == 2

        missed = await node.call("sync", {"cursors": {room["id"]: 0}})
        assert [m["seq"] for m in missed["messages"]] == [1, 2]
        bad = await node.call("message:send", {"room_id": room["id"]})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_input"
    finally:
        await node.close()


async def test_node_client_sees_unauthorized_connect_error(server: LiveServer) -> None:
    for token in ("", "not-a-token"):
        node = await NodeClient.start(server.url, token)
        try:
            line = await node.wait(lambda line: line["type"] in ("connected", "connect_error"))
            assert line["type"] == "connect_error"
            assert line["data"]["code"] == "unauthorized"
            assert line["data"]["message"]
        finally:
            await node.close()
