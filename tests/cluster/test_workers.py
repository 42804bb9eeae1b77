"""`sealchat serve --workers N`: several processes on one port, on PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.cluster.test_cluster import send, sign_up, socket_at
from tests.integration.test_metrics import samples, value
from tests.live_server import TEST_ENV, free_port, start_server
from tests.pg_support import create_temp_database, drop_database
from tests.redis_support import require_redis, unique_channel


def test_several_workers_refuse_sqlite(tmp_path: Path) -> None:
    env = {**os.environ, **TEST_ENV, "SEALCHAT_DATA_DIR": str(tmp_path)}
    env.pop("SEALCHAT_DATABASE_URL", None)
    refused = subprocess.run(
        [sys.executable, "-m", "sealchat", "serve", "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert refused.returncode == 2
    assert "need PostgreSQL" in refused.stderr
    assert "Traceback" not in refused.stderr


def workers(pid: int) -> list[int]:
    """uvicorn's worker processes under ``pid`` (not multiprocessing's resource tracker)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [
        int(child)
        for child in text.split()
        if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes()
    ]


@pytest.mark.postgres
async def test_workers_share_one_port_websocket_only(tmp_path: Path) -> None:
    redis_url = await require_redis()
    database_url = await create_temp_database()
    metrics_port = free_port()
    try:
        server = start_server(
            tmp_path,
            {
                "SEALCHAT_DATABASE_URL": database_url,
                "SEALCHAT_REDIS_URL": redis_url,
                "SEALCHAT_REDIS_CHANNEL": unique_channel(),
                "SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS": "0",
                "SEALCHAT_METRICS_PORT": str(metrics_port),
                "SEALCHAT_METRICS_TOKEN": "workers-metrics",
                "SEALCHAT_METRICS_SAMPLE_SECONDS": "0.1",
            },
            command=("serve", "--workers", "2"),
        )
        try:
            assert len(workers(server.process.pid)) == 2
            alice = await sign_up(server.url)
            bob = await sign_up(server.url)
            token = alice["access_token"]
            async with httpx.AsyncClient(base_url=server.url) as http:
                made = await http.post(
                    "/api/rooms",
                    json={"name": "w"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                room = made.json()["room"]
                await http.post(
                    f"/api/rooms/{room['id']}/join",
                    headers={"Authorization": f"Bearer {bob['access_token']}"},
                )
                polling = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
            assert polling.status_code == 400  # a polling session would span processes
            # Enough sockets that both workers have some; each sees every message once.
            readers = [await socket_at(server.url, bob["access_token"]) for _ in range(8)]
            writer = await socket_at(server.url, token)
            try:
                sent = [await send(writer, room["id"]) for _ in range(10)]
                for reader in readers:
                    got = await reader.wait_for("message:new", 10, timeout=10)
                    assert [m["id"] for m in got] == [m["id"] for m in sent]
                await asyncio.sleep(0.2)
                assert all(len(r.of("message:new")) == 10 for r in readers)
                # The supervisor's metrics port adds up both workers (multiprocess mode).
                async with httpx.AsyncClient() as http:
                    scraped = await http.get(
                        f"http://127.0.0.1:{metrics_port}/metrics",
                        headers={"Authorization": "Bearer workers-metrics"},
                    )
                found = samples(scraped.text)
                assert value(found, "sealchat_messages_stored_total") == 10
                assert value(found, "sealchat_deliveries_total", event="message") == 80
                assert value(found, "sealchat_open_connections", transport="websocket") == 9
            finally:
                for sock in [writer, *readers]:
                    await sock.close()
        finally:
            server.stop()
    finally:
        await drop_database(database_url)
