"""/metrics after real traffic: scraped on both endpoints and parsed as Prometheus text."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sealchat.client import SealchatClient
from tests.integration.conftest import PASSWORD, unique_name
from tests.integration.raw_socket import RawSocket
from tests.live_server import LiveServer, free_port, start_server

TOKEN = "metrics-token-for-tests"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    port = free_port()
    live = start_server(
        tmp_path_factory.mktemp("metrics"),
        {
            "SEALCHAT_METRICS_TOKEN": TOKEN,
            "SEALCHAT_METRICS_PORT": str(port),
            "SEALCHAT_METRICS_SAMPLE_SECONDS": "0.1",
        },
    )
    live.env["METRICS_PORT"] = str(port)
    yield live
    live.stop()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, keyed by name and sorted labels."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(
    scrape: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return scrape.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(server: LiveServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with httpx.AsyncClient() as http:
        reply = await http.get(
            f"{server.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    return samples(reply.text)


async def test_main_port_needs_the_token_and_the_metrics_port_serves_the_same(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
            refused = await http.get(f"{server.url}/metrics", headers=headers)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "unauthorized"
        port = f"http://127.0.0.1:{server.env['METRICS_PORT']}"
        assert (await http.get(f"{port}/metrics")).status_code == 401
        own = await http.get(f"{port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert own.status_code == 200
        assert ("sealchat_messages_stored_total", ()) in samples(own.text)
        assert (await http.get(f"{port}/other")).status_code == 404


async def test_counters_and_histograms_follow_real_traffic(server: LiveServer) -> None:
    before = await scrape(server)
    alice, bob, carol = (SealchatClient(server.url) for _ in range(3))
    try:
        for client in (alice, bob, carol):
            await client.register(unique_name(), PASSWORD)
        room = await alice.create_room("metrics")
        await bob.join(room["id"])
        await carol.join(room["id"])
        for client in (alice, bob, carol):
            await client.connect()
        listener = RawSocket()
        assert bob.api.access_token
        await listener.connect(server.url, bob.api.access_token)
        for i in range(5):
            await alice.send_text(room["id"], f"hello {i}")  # sealed: data keys from the KMS
        await listener.wait_for("message:new", 5)
        refused = await listener.call("message:send", {"room_id": room["id"]})
        assert refused["error"]["code"] == "invalid_input"
        async with httpx.AsyncClient() as http:
            failed = await http.post(
                f"{server.url}/api/auth/login",
                json={"username": unique_name(), "password": "wrong password!"},
            )
        assert failed.status_code == 401

        # The connection gauge is sampled; wait for a sample that sees every socket.
        for _ in range(50):
            after = await scrape(server)
            if value(after, "sealchat_open_connections", transport="websocket") >= 4:
                break
            await asyncio.sleep(0.1)
        assert value(after, "sealchat_open_connections", transport="websocket") >= 4

        def grew(name: str, **labels: str) -> float:
            return value(after, name, **labels) - value(before, name, **labels)

        assert grew("sealchat_messages_stored_total") == 5
        assert grew("sealchat_store_batch_messages_sum") == 5
        # Each message reached bob's and carol's library sockets and bob's raw socket
        # (the sender's own socket gets it in the ack, not a broadcast).
        assert grew("sealchat_deliveries_total", event="message") == 15
        assert grew("sealchat_refusals_total", surface="socket", code="invalid_input") == 1
        assert grew("sealchat_refusals_total", surface="http", code="unauthorized") >= 1
        assert grew("sealchat_login_failures_total", reason="bad_credentials") == 1
        ok = {"operation": "generate-data-key", "outcome": "ok"}
        assert grew("sealchat_kms_requests_total", **ok) >= 1
        assert value(after, "sealchat_fanout_seconds_count") > value(
            before, "sealchat_fanout_seconds_count"
        )
        assert value(after, "sealchat_store_batch_seconds_count") > value(
            before, "sealchat_store_batch_seconds_count"
        )
        await listener.close()
    finally:
        for client in (alice, bob, carol):
            await client.close()
