"""Key lifecycle beside a running server: a master key disabled and enabled, the root key
rotated without downtime, the audit log exported as JSON lines."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sealchat.client import ClientError, SealchatClient
from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import TEST_ENV, LiveServer, start_server

KEY = "sealchat-messages"


async def kms(server: LiveServer, *args: str) -> subprocess.CompletedProcess[str]:
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "sealchat", "kms", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **TEST_ENV, **server.env},
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 0, done.stderr
    return done


async def fresh_reader(server: LiveServer, name: str) -> SealchatClient:
    """A new client (no data keys cached): every open asks the key service."""
    client = SealchatClient(server.url)
    await client.login(name, PASSWORD)
    return client


async def texts(server: LiveServer, name: str, room_id: str) -> list[str | None]:
    async with await fresh_reader(server, name) as reader:
        return [m.text or m.error for m in await reader.history_opened(room_id)]


async def room_with_a_message(server: LiveServer, alice: SealchatClient, bob_name: str) -> str:
    """alice's room, bob a member, one sealed message "before" in it."""
    await alice.register(unique_name(), PASSWORD)
    async with SealchatClient(server.url) as bob:
        await bob.register(bob_name, PASSWORD)
        room = await alice.create_room("lifecycle")
        await bob.join(room["id"])
    await alice.connect()
    await alice.send_text(room["id"], "before")
    return str(room["id"])


async def test_a_disabled_master_key_refuses_until_enabled(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    bob_name = unique_name()
    try:
        async with SealchatClient(server.url) as alice:
            room_id = await room_with_a_message(server, alice, bob_name)
            await kms(server, "key", "disable", KEY)
            assert await texts(server, bob_name, room_id) == ["key_disabled"]
            async with await fresh_reader(server, bob_name) as bob:
                await bob.connect()
                with pytest.raises(ClientError) as refused:
                    await bob.send_text(room_id, "while disabled")
                assert refused.value.code == "key_disabled"
            await kms(server, "key", "enable", KEY)
            assert await texts(server, bob_name, room_id) == ["before"]
    finally:
        server.stop()


async def test_root_rotation_without_downtime_then_the_audit_export(tmp_path: Path) -> None:
    server = start_server(tmp_path)
    bob_name = unique_name()
    try:
        async with SealchatClient(server.url) as alice:
            room_id = await room_with_a_message(server, alice, bob_name)
            root = tmp_path / "kms" / "root.key"
            old_root = root.read_bytes()
            rotated = await kms(server, "rotate-root")
            assert "re-wrapped 1 master key versions" in rotated.stdout
            assert root.read_bytes() != old_root
            assert (tmp_path / "kms" / "root.key.previous").read_bytes() == old_root
            assert not (tmp_path / "kms" / "root.key.new").exists()
            # The running service switches by itself: old messages open, new ones seal.
            assert await texts(server, bob_name, room_id) == ["before"]
            await alice.send_text(room_id, "after")
    finally:
        server.stop()

    server = start_server(tmp_path)  # a restart reads the new root key
    try:
        assert await texts(server, bob_name, room_id) == ["before", "after"]
    finally:
        server.stop()
    exported = await kms(server, "audit-export")
    entries = [json.loads(line) for line in exported.stdout.splitlines()]
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    operations = {e["operation"] for e in entries}
    assert {"rotate-root-key", "generate-data-key", "decrypt"} <= operations
    assert all(set(e) >= {"at", "actor_username", "allowed", "key_id"} for e in entries)
