"""The retention job inside a live server: old messages deleted for good (on SQLite the
envelope bytes are gone from the files), expired refresh tokens purged, the key
service's old audit records deleted, progress logged."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.tables import idp_refresh_tokens, messages
from sealchat.kms.tables import kms_audit
from tests.envelopes import opaque_envelope
from tests.integration.raw_socket import RawSocket
from tests.integration.test_admin import admin, sign_up
from tests.live_server import LiveServer, start_server
from tests.pg_support import create_temp_database, drop_database


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    database_url = asyncio.run(create_temp_database()) if request.param == "postgres" else None
    env = {
        "SEALCHAT_RETENTION_INTERVAL_SECONDS": "0.3",
        "SEALCHAT_KMS_AUDIT_RETENTION_DAYS": "1",
        **({"SEALCHAT_DATABASE_URL": database_url} if database_url else {}),
    }
    live = start_server(tmp_path_factory.mktemp(f"retention-{request.param}"), env)
    live.env["TEST_DATABASE_URL"] = database_url or ""
    yield live
    live.stop()
    if database_url:
        asyncio.run(drop_database(database_url))


def chat_url(server: LiveServer) -> str:
    return (
        server.env["TEST_DATABASE_URL"] or f"sqlite+aiosqlite:///{server.data_dir / 'sealchat.db'}"
    )


def file_bytes(server: LiveServer) -> bytes:
    base = server.data_dir / "sealchat.db"
    return b"".join(p.read_bytes() for p in (base, Path(f"{base}-wal")) if p.exists())


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "the retention job did not get there"
        await asyncio.sleep(0.1)


async def test_old_messages_tokens_and_audit_records_go(server: LiveServer) -> None:
    alice = await sign_up(server)
    headers = {"Authorization": f"Bearer {alice['access_token']}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        trimmed = (await http.post("/api/rooms", json={"name": "trimmed"})).json()["room"]["id"]
        kept = (await http.post("/api/rooms", json={"name": "kept"})).json()["room"]["id"]
        # A key-service call, for an audit record.
        await http.post(f"/api/rooms/{trimmed}/key-grant")
    gone_label, kept_label = f"expiring-{uuid.uuid4().hex}", f"keeping-{uuid.uuid4().hex}"
    gone_ct = opaque_envelope(gone_label)["ct"].encode()
    kept_ct = opaque_envelope(kept_label)["ct"].encode()
    sock = RawSocket()
    await sock.connect(server.url, alice["access_token"])
    for room, label in ((trimmed, gone_label), (kept, kept_label)):
        for i in range(3):
            ack = await sock.call(
                "message:send",
                {
                    "room_id": room,
                    "client_msg_id": f"{label[:8]}{i}",
                    "envelope": opaque_envelope(label),
                },
            )
            assert ack["ok"], ack
    await sock.close()
    done = await admin(server, "rooms", "retention", trimmed, "7")
    assert done.returncode == 0, done.stderr

    # Ten days pass, for the messages, the refresh token and the audit log.
    long_ago = datetime.now(UTC) - timedelta(days=10)
    chat = create_engine(chat_url(server))
    kms = create_engine(f"sqlite+aiosqlite:///{server.data_dir / 'kms' / 'kms.db'}")
    try:
        async with chat.begin() as conn:
            await conn.execute(update(messages).values(created_at=long_ago))
            await conn.execute(update(idp_refresh_tokens).values(expires_at=long_ago))
        async with kms.begin() as conn:
            await conn.execute(update(kms_audit).values(at=long_ago))

        async def count(engine: AsyncEngine, query: Select[Any]) -> int:
            async with engine.connect() as conn:
                return int(await conn.scalar(query))

        in_room = select(func.count()).select_from(messages).where(messages.c.room_id == trimmed)
        tokens = select(func.count()).select_from(idp_refresh_tokens)
        audit = (
            select(func.count())
            .select_from(kms_audit)
            .where(kms_audit.c.at < long_ago + timedelta(days=1))
        )

        async def all_gone() -> bool:
            return (
                await count(chat, in_room) == 0
                and await count(chat, tokens) == 0
                and await count(kms, audit) == 0
            )

        await wait_until(all_gone)
        left = select(func.count()).select_from(messages).where(messages.c.room_id == kept)
        assert await count(chat, left) == 3  # no retention there: the default keeps all
    finally:
        await chat.dispose()
        await kms.dispose()

    if not server.env["TEST_DATABASE_URL"]:
        # SQLite: the deleted envelopes' bytes are gone from the database and its WAL.
        async def bytes_gone() -> bool:
            return gone_ct not in file_bytes(server)

        await wait_until(bytes_gone)
        assert kept_ct in file_bytes(server)
    log = server.log_text()
    assert f"retention: room {trimmed}: 3 messages older than 7 days deleted" in log
    assert "expired refresh tokens purged" in log
    assert "key-service audit records older than 1 days deleted" in log
