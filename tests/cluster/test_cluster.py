"""Several nodes behind nginx: fan-out, ordering, presence, membership, sign-out, sealing
and a node killed mid-traffic, across nodes (the cluster is in conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from sealchat.client import ClientError, SealchatClient
from tests.cluster.conftest import NODES, Cluster
from tests.envelopes import opaque_envelope
from tests.integration.raw_socket import RawSocket
from tests.membership import add_member

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse battery staple"


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def sign_up(url: str) -> dict[str, Any]:
    """A new account (through ``url``): its tokens and ``user``."""
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.post(
            "/api/auth/register", json={"username": unique_name(), "password": PASSWORD}
        )
    answer.raise_for_status()
    account: dict[str, Any] = answer.json()
    return account


async def rest(url: str, token: str, method: str, path: str, **kwargs: Any) -> Any:
    async with httpx.AsyncClient(base_url=url) as http:
        answer = await http.request(
            method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs
        )
    answer.raise_for_status()
    return answer.json() if answer.content else None


async def socket_at(url: str, token: str) -> RawSocket:
    sock = RawSocket()
    await sock.connect(url, token)
    return sock


async def send(sock: RawSocket, room_id: str, client_msg_id: str | None = None) -> dict[str, Any]:
    client_msg_id = client_msg_id or uuid.uuid4().hex
    ack = await sock.call(
        "message:send",
        {
            "room_id": room_id,
            "client_msg_id": client_msg_id,
            "envelope": opaque_envelope(client_msg_id),
        },
    )
    assert ack["ok"], ack
    message: dict[str, Any] = ack["message"]
    return message


async def full_history(url: str, token: str, room_id: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        page = await rest(
            url,
            token,
            "GET",
            f"/api/rooms/{room_id}/messages",
            params={"after_seq": len(messages), "limit": 200},
        )
        messages += page["messages"]
        if not page["has_more"]:
            return messages


def message_ids(sock: RawSocket, room_id: str) -> Counter[str]:
    return Counter(m["id"] for m in sock.of("message:new", lambda m: m["room_id"] == room_id))


async def test_every_message_reaches_every_socket_of_every_member_once(cluster: Cluster) -> None:
    # Six members, two sockets each: on each node directly and through nginx.
    entries = [cluster.node_url(i) for i in range(NODES)] + [cluster.url] * 3
    owner = await sign_up(cluster.node_url(0))
    room = (
        await rest(
            cluster.node_url(0), owner["access_token"], "POST", "/api/rooms", json={"name": "r"}
        )
    )["room"]
    members = [owner] + [await sign_up(entries[i]) for i in range(1, len(entries))]
    for index, member in enumerate(members[1:], start=1):
        await rest(entries[index], member["access_token"], "POST", f"/api/rooms/{room['id']}/join")
    sockets: list[RawSocket] = []
    for index, member in enumerate(members):
        for entry in (entries[index], entries[(index + 1) % len(entries)]):
            sockets.append(await socket_at(entry, member["access_token"]))
    try:
        # The first socket of each member sends five messages, all at once.
        sent_by: dict[int, list[dict[str, Any]]] = {}

        async def sender(position: int) -> None:
            sent_by[position] = [await send(sockets[position], room["id"]) for _ in range(5)]

        await asyncio.gather(*(sender(2 * index) for index in range(len(members))))
        every = {m["id"] for batch in sent_by.values() for m in batch}
        assert len(every) == 5 * len(members)
        for position, sock in enumerate(sockets):
            own = {m["id"] for m in sent_by.get(position, [])}  # acked, not echoed
            await sock.wait_for(
                "message:new",
                len(every) - len(own),
                timeout=10,
                where=lambda m: m["room_id"] == room["id"],
            )
        await asyncio.sleep(0.3)  # room for a duplicate to show up
        for position, sock in enumerate(sockets):
            own = {m["id"] for m in sent_by.get(position, [])}
            assert message_ids(sock, room["id"]) == Counter(every - own), position
    finally:
        for sock in sockets:
            await sock.close()


async def test_concurrent_senders_on_every_node_get_one_dense_sequence(cluster: Cluster) -> None:
    owner = await sign_up(cluster.url)
    token = owner["access_token"]
    room = (await rest(cluster.url, token, "POST", "/api/rooms", json={"name": "seq"}))["room"]
    sockets = [
        await socket_at(cluster.node_url(node), token) for node in range(NODES) for _ in range(3)
    ]
    try:

        async def lane(sock: RawSocket) -> list[dict[str, Any]]:
            return [await send(sock, room["id"]) for _ in range(40)]

        # Sixteen sends in flight per socket at once fill each node's batches.
        acked = [
            m
            for batch in await asyncio.gather(*(lane(s) for s in sockets for _ in range(4)))
            for m in batch
        ]
    finally:
        for sock in sockets:
            await sock.close()
    total = len(acked)
    assert sorted(m["seq"] for m in acked) == list(range(1, total + 1))
    histories = [
        await full_history(cluster.node_url(node), token, room["id"]) for node in range(NODES)
    ]
    assert [m["seq"] for m in histories[0]] == list(range(1, total + 1))
    for history in histories[1:]:
        assert history == histories[0]
    by_id = {m["id"]: m["seq"] for m in histories[0]}
    assert all(by_id[m["id"]] == m["seq"] for m in acked)


async def test_presence_typing_membership_and_sign_out_cross_nodes(cluster: Cluster) -> None:
    node1, node2, node3 = (cluster.node_url(i) for i in range(NODES))
    alice, bob, carol = await sign_up(node1), await sign_up(node2), await sign_up(node3)
    room = (await rest(node1, alice["access_token"], "POST", "/api/rooms", json={"name": "team"}))[
        "room"
    ]
    await rest(node2, bob["access_token"], "POST", f"/api/rooms/{room['id']}/join")
    watcher = await socket_at(node1, alice["access_token"])
    bob_socket = await socket_at(node2, bob["access_token"])
    carol_socket = await socket_at(node3, carol["access_token"])
    try:
        # Presence: bob came online on node 2; alice (node 1) hears it, node 3 knows it.
        online = await watcher.wait_for(
            "presence", where=lambda p: p["user_id"] == bob["user"]["id"]
        )
        assert online[0]["status"] == "online"
        listed = await rest(node3, alice["access_token"], "GET", f"/api/rooms/{room['id']}/members")
        by_id = {m["user"]["id"]: m["online"] for m in listed["members"]}
        assert by_id == {alice["user"]["id"]: True, bob["user"]["id"]: True}

        # Typing on node 2 reaches node 1.
        assert (await bob_socket.call("typing", {"room_id": room["id"]}))["ok"]
        typing = await watcher.wait_for("typing")
        assert typing[0]["user_id"] == bob["user"]["id"]

        # Carol, invited on node 1 and accepting on node 2, gets the room on her socket on
        # node 3 at once: her socket there entered the room.
        await rest(
            node1,
            alice["access_token"],
            "POST",
            f"/api/rooms/{room['id']}/invitations",
            json={"username": carol["user"]["username"]},
        )
        await carol_socket.wait_for("invitation:new")
        await rest(node2, carol["access_token"], "POST", f"/api/invitations/{room['id']}/accept")
        await carol_socket.wait_for("room:joined")
        await watcher.wait_for("member:joined")
        first = await send(watcher, room["id"])
        await carol_socket.wait_for("message:new", where=lambda m: m["id"] == first["id"])

        # Removed on node 2: her socket on node 3 leaves the room.
        await rest(
            node2,
            alice["access_token"],
            "DELETE",
            f"/api/rooms/{room['id']}/members/{carol['user']['id']}",
        )
        await carol_socket.wait_for("room:left")
        second = await send(watcher, room["id"])
        await bob_socket.wait_for("message:new", where=lambda m: m["id"] == second["id"])
        await asyncio.sleep(0.3)
        assert carol_socket.of("message:new", lambda m: m["id"] == second["id"]) == []

        # Signing out on node 3 disconnects bob's socket on node 2; alice sees him go.
        async with httpx.AsyncClient(base_url=node3) as http:
            signed_out = await http.post(
                "/api/auth/logout", json={"refresh_token": bob["refresh_token"]}
            )
        assert signed_out.status_code == 204
        offline = await watcher.wait_for(
            "presence", 2, where=lambda p: p["user_id"] == bob["user"]["id"]
        )
        assert [p["status"] for p in offline] == ["online", "offline"]
        async with asyncio.timeout(5):
            while bob_socket.sio.connected:
                await asyncio.sleep(0.05)
    finally:
        for sock in (watcher, bob_socket, carol_socket):
            with contextlib.suppress(Exception):
                await sock.close()


async def test_a_sealed_conversation_across_nodes_and_the_key_service(cluster: Cluster) -> None:
    async with (
        SealchatClient(cluster.node_url(0)) as alice,
        SealchatClient(cluster.node_url(1)) as bob,
    ):
        await alice.register(unique_name(), PASSWORD)
        await bob.register(unique_name(), PASSWORD)
        room = await alice.create_room("sealed", visibility="private")
        await add_member(alice, bob, room["id"])
        await alice.connect()
        await bob.connect()
        sent = await alice.send_text(room["id"], "sealed on node 1, opened on node 2")
        opened = await bob.next_opened()
        assert opened.text == "sealed on node 1, opened on node 2"
        reply = await bob.send_text(room["id"], "and back")
        assert (await alice.open(reply)).text == "and back"

        # Removal on node 1 reaches the one key service: bob's kept grant stops working.
        kept_grant = await bob.grants.get(room["id"])
        await alice.remove_member(room["id"], bob.user["id"])  # type: ignore[index]
        assert cluster.kms is not None
        async with httpx.AsyncClient() as http:
            refused = await http.post(
                f"{cluster.kms.url}/kms/decrypt",
                headers={"Authorization": f"Bearer {bob.api.kms_access_token}"},
                json={
                    "ciphertext_blob": sent["envelope"]["edk"],
                    "encryption_context": {"room_id": room["id"]},
                    "grant": kept_grant,
                },
            )
        assert refused.status_code == 403


async def test_rate_limits_are_per_user_across_nodes(cluster: Cluster) -> None:
    """sync's bucket (burst 20 by default) is one bucket whichever node is asked."""
    owner = await sign_up(cluster.url)
    sockets = [await socket_at(cluster.node_url(n), owner["access_token"]) for n in range(NODES)]
    started = time.monotonic()
    try:
        answers = [
            await sockets[n % NODES].call("sync", {"cursors": {}}) for n in range(3 * NODES * 3)
        ]
    finally:
        elapsed = time.monotonic() - started
        for sock in sockets:
            await sock.close()
    refused = [a for a in answers if not a["ok"]]
    assert refused and all(a["error"]["code"] == "rate_limited" for a in refused)
    # One bucket: the burst and what refilled meanwhile (5 a second), not three bursts.
    assert sum(a["ok"] for a in answers) <= 20 + 5 * elapsed + 1


@pytest.mark.timeout(180)
async def test_a_killed_node_s_clients_resume_through_nginx(cluster: Cluster) -> None:
    """SIGKILL one node mid-traffic: its clients reconnect through nginx to another node
    and resume; every acknowledged message reaches every member once."""
    clients = [SealchatClient(cluster.url) for _ in range(6)]
    victim = cluster.node(1)
    victim_log_start = len(victim.log_text())
    try:
        for client in clients:
            await client.register(unique_name(), PASSWORD)
        room = await clients[0].create_room("survivors")
        for client in clients[1:]:
            await client.join(room["id"])
        for client in clients:
            await client.connect()
        acked: dict[str, dict[str, Any]] = {}
        stop = asyncio.Event()

        async def sender(client: SealchatClient, name: str) -> None:
            n = 0
            while not stop.is_set():
                client_msg_id = f"{name}-{n}"
                while True:  # resend (same id) until acknowledged, as an outbox does
                    try:
                        await client.connected.wait()
                        message = await client.send(
                            room["id"], opaque_envelope(client_msg_id), client_msg_id
                        )
                        break
                    except ClientError:
                        await asyncio.sleep(0.05)
                acked[message["id"]] = message
                n += 1
                await asyncio.sleep(0.01)

        senders = [asyncio.create_task(sender(client, f"c{i}")) for i, client in enumerate(clients)]
        async with asyncio.timeout(30):
            while len(acked) < 100:
                await asyncio.sleep(0.02)
        # nginx (least_conn) put some of the clients' websockets on the victim.
        assert "[accepted]" in victim.log_text()[victim_log_start:]
        victim.process.kill()
        victim.process.wait()
        before = len(acked)
        async with asyncio.timeout(60):
            while len(acked) < before + 150:
                await asyncio.sleep(0.02)
        stop.set()
        await asyncio.gather(*senders)

        # Every member resumes from its cursor and ends with every acknowledged message
        # once, in seq order, whichever node it is on now.
        expected = sorted(m["seq"] for m in acked.values())
        assert expected == list(range(1, len(expected) + 1))
        for client in clients:
            async with asyncio.timeout(30):
                await client.connected.wait()
                await client.sync()
            seen: list[dict[str, Any]] = []
            while client.pending_messages():
                seen.append(await client.next_message(1))
            assert [m["seq"] for m in seen] == expected
            assert {m["id"] for m in seen} == set(acked)
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
        if cluster.nodes[1] is not None and cluster.nodes[1].process.poll() is not None:
            cluster.start_node(1)


async def test_long_polling_clients_stick_to_their_node_through_nginx(cluster: Cluster) -> None:
    """deploy/nginx/sealchat.conf routes a polling session (and its upgrade) to one node."""
    owner = await sign_up(cluster.url)
    token = owner["access_token"]
    room = (await rest(cluster.url, token, "POST", "/api/rooms", json={"name": "poll"}))["room"]
    sender = await socket_at(cluster.node_url(2), token)
    pollers = []
    for transports in (["polling"], ["polling", "websocket"]):
        poller = RawSocket()
        await poller.sio.connect(
            cluster.url, auth={"token": token}, transports=transports, wait_timeout=10
        )
        pollers.append(poller)
    try:
        sent = [await send(sender, room["id"]) for _ in range(20)]
        for poller in pollers:
            got = await poller.wait_for(
                "message:new", 20, timeout=10, where=lambda m: m["room_id"] == room["id"]
            )
            assert [m["id"] for m in got] == [m["id"] for m in sent]
        assert pollers[1].sio.transport() == "websocket"  # upgraded, on the same node
    finally:
        for sock in [sender, *pollers]:
            await sock.close()
