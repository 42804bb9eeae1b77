"""Relations, deletion and read:updated through the official Node socket.io-client."""

from __future__ import annotations

import pytest

from tests.envelopes import opaque_envelope
from tests.integration.conftest import ClientFactory
from tests.integration.node_client import NodeClient
from tests.live_server import LiveServer

pytestmark = pytest.mark.node


def send(room_id: str, cid: str, label: str, relates_to: dict[str, str] | None = None) -> dict:  # type: ignore[type-arg]
    body = {"room_id": room_id, "client_msg_id": cid, "envelope": opaque_envelope(label)}
    return body if relates_to is None else {**body, "relates_to": relates_to}


async def test_node_client_relations_deletion_and_read_updates(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob = await new_client(connect=True), await new_client()
    room = await alice.create_room("node-conversation")
    await bob.join(room["id"])
    first = await alice.send(room["id"], opaque_envelope("hello"))
    assert (await alice.next_message())["id"] == first["id"]
    phone = await NodeClient.start(server.url, bob.api.access_token or "")
    laptop = await NodeClient.start(server.url, bob.api.access_token or "")
    try:
        for node in (phone, laptop):
            await node.wait(lambda line: line["type"] == "connected")
        reaction = await phone.call(
            "message:send",
            send(room["id"], "n-1", "+1", {"type": "reaction", "message_id": first["id"]}),
        )
        assert reaction["ok"] is True
        assert reaction["message"]["relates_to"] == {"type": "reaction", "message_id": first["id"]}
        live = await alice.next_message()
        assert live["id"] == reaction["message"]["id"]
        assert live["relates_to"]["type"] == "reaction"

        refused = await phone.call(
            "message:send",
            send(room["id"], "n-2", "x", {"type": "edit", "message_id": first["id"]}),
        )
        assert refused["error"]["code"] == "forbidden"
        gone = await phone.call(
            "message:delete", {"room_id": room["id"], "message_id": reaction["message"]["id"]}
        )
        assert gone["ok"] is True and gone["message"]["envelope"] is None
        marker = await laptop.wait(
            lambda line: (
                line["type"] == "event"
                and line["event"] == "message:new"
                and line["payload"]["relates_to"]
                == {
                    "type": "delete",
                    "message_id": reaction["message"]["id"],
                }
            )
        )
        assert marker["payload"]["id"] == gone["message"]["id"]

        await bob.mark_read(room["id"], first["seq"])
        for node in (phone, laptop):
            update = await node.wait(
                lambda line: line["type"] == "event" and line["event"] == "read:updated"
            )
            assert update["payload"] == {"room_id": room["id"], "seq": first["seq"]}
        synced = await laptop.call("sync", {"cursors": {room["id"]: 0}})
        reaction_again = next(m for m in synced["messages"] if m["id"] == reaction["message"]["id"])
        assert reaction_again["deleted"] is True and reaction_again["envelope"] is None
    finally:
        await phone.close()
        await laptop.close()
