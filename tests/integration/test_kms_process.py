"""The key service as its own process (`sealchat kms serve`), beside the chat server."""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from sealchat.client import ClientError, SealchatClient
from sealchat.client.trust import trust_indicator
from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import TEST_ENV, LiveServer, free_port, start_server
from tests.membership import add_member


@dataclass
class Split:
    """A chat server and a separate key service on fixed loopback ports, restartable."""

    tmp_path: Path
    chat_port: int = field(default_factory=free_port)
    kms_port: int = field(default_factory=free_port)
    chat_env: dict[str, str] = field(default_factory=dict)
    kms_env: dict[str, str] = field(default_factory=dict)
    chat: LiveServer | None = None
    kms: LiveServer | None = None

    def start_chat(self) -> LiveServer:
        env = {
            "SEALCHAT_KMS_EMBEDDED": "false",
            "SEALCHAT_KMS_URL": f"http://127.0.0.1:{self.kms_port}/kms",
            **self.chat_env,
        }
        self.chat = start_server(self.tmp_path / "chat", env, port=self.chat_port)
        return self.chat

    def start_kms(self) -> LiveServer:
        chat_url = f"http://127.0.0.1:{self.chat_port}"
        env = {
            "SEALCHAT_TOKEN_ISSUER": chat_url,
            "SEALCHAT_JWKS_URL": f"{chat_url}/.well-known/jwks.json",
            "SEALCHAT_KMS_GRANT_ISSUER": chat_url,
            "SEALCHAT_KMS_GRANT_JWKS_URL": f"{chat_url}/.well-known/sealchat-grant-jwks.json",
            **self.kms_env,
        }
        self.kms = start_server(
            self.tmp_path / "kms",
            env,
            command=("kms", "serve"),
            health_path="/kms/healthz",
            port=self.kms_port,
        )
        return self.kms

    def stop(self) -> None:
        for server in (self.kms, self.chat):
            if server is not None:
                server.stop()


@contextmanager
def split(
    tmp_path: Path, chat_env: dict[str, str] | None = None, kms_env: dict[str, str] | None = None
) -> Iterator[Split]:
    deployment = Split(tmp_path, chat_env=chat_env or {}, kms_env=kms_env or {})
    try:
        deployment.start_chat()
        deployment.start_kms()
        yield deployment
    finally:
        deployment.stop()


@pytest.fixture
def split_deployment(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    with split(tmp_path) as deployment:
        assert deployment.chat is not None and deployment.kms is not None
        yield deployment.chat, deployment.kms


async def test_messages_seal_and_open_through_a_separate_key_service(
    split_deployment: tuple[LiveServer, LiveServer],
) -> None:
    chat, kms = split_deployment
    assert not (chat.data_dir / "kms").exists()  # the chat host holds no key material
    async with SealchatClient(chat.url) as alice, SealchatClient(chat.url) as bob:
        await alice.register(unique_name(), PASSWORD)
        await bob.register(unique_name(), PASSWORD)
        room = await alice.create_room("split", visibility="private")
        await add_member(alice, bob, room["id"])
        await alice.connect()
        sent = await alice.send_text(room["id"], "across two processes")
        opened = await bob.open(sent)
        assert opened.text == "across two processes"
        # What clients tell people about this layout (docs/key-service.md §1.2).
        config = await alice.server_config()
        assert config["key_service_layout"] == "separate"
        assert trust_indicator(config).summary.startswith("separate key service:")

        # Removing bob reaches the separate key service over HTTP: the grant he holds
        # stops working at once.
        kept_grant = await bob.grants.get(room["id"])
        await alice.remove_member(room["id"], bob.user["id"])  # type: ignore[index]
        async with httpx.AsyncClient() as http:
            refused = await http.post(
                f"{kms.url}/kms/decrypt",
                headers={"Authorization": f"Bearer {bob.api.kms_access_token}"},
                json={
                    "ciphertext_blob": sent["envelope"]["edk"],
                    "encryption_context": {"room_id": room["id"]},
                    "grant": kept_grant,
                },
            )
        assert refused.status_code == 403
        assert "membership" in refused.json()["error"]["message"]

        # The key service goes down: sending fails clearly and nothing is stored.
        kms.stop()
        alice.grants.forget(room["id"])
        sealer = await alice.sealer()
        sealer.keyring.retire_sending_key(room["id"])
        with pytest.raises(ClientError) as failed:
            await alice.send_text(room["id"], "this must not be stored")
        assert failed.value.code == "kms_unavailable"
        assert [m["id"] for m in await alice.history(room["id"])] == [sent["id"]]


def kms_serve(data_dir: Path, extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **TEST_ENV,
        "SEALCHAT_DATA_DIR": str(data_dir),
        "SEALCHAT_KMS_PORT": str(free_port()),
        "SEALCHAT_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
        "SEALCHAT_KMS_GRANT_JWKS_URL": "http://127.0.0.1:9/grants.json",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "sealchat", "kms", "serve"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_missing_or_wrong_root_key_refuses_to_start(tmp_path: Path) -> None:
    first = start_server(
        tmp_path,
        {
            "SEALCHAT_JWKS_URL": "http://127.0.0.1:9/.well-known/jwks.json",
            "SEALCHAT_KMS_GRANT_JWKS_URL": "http://127.0.0.1:9/grants.json",
        },
        command=("kms", "serve"),
        health_path="/kms/healthz",
    )
    first.stop()
    root_key = tmp_path / "kms" / "root.key"
    assert root_key.is_file() and root_key.stat().st_mode & 0o077 == 0

    original = root_key.read_bytes()
    root_key.unlink()
    missing = kms_serve(tmp_path, {})
    assert missing.returncode != 0
    assert "root key file" in missing.stdout + missing.stderr
    assert "is missing" in missing.stdout + missing.stderr
    assert "Traceback" not in missing.stdout + missing.stderr

    # A well-formed root key, but not the one that wrapped the stored master keys.
    header = original.decode().splitlines()[0]
    wrong = tmp_path / "wrong.key"
    wrong.write_text(f"{header}\n{base64.b64encode(os.urandom(32)).decode()}\n")
    wrong.chmod(0o600)
    mismatched = kms_serve(tmp_path, {"SEALCHAT_KMS_ROOT_KEY_FILE": str(wrong)})
    assert mismatched.returncode != 0
    assert "does not match the key store" in mismatched.stdout + mismatched.stderr
    assert "Traceback" not in mismatched.stdout + mismatched.stderr


async def kms_decrypt(
    kms_url: str, client: SealchatClient, sent: Any, grant: str
) -> httpx.Response:
    """Unwrap the data key of ``sent`` at the key service as ``client``, with ``grant``."""
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{kms_url}/kms/decrypt",
            headers={"Authorization": f"Bearer {client.api.kms_access_token}"},
            json={
                "ciphertext_blob": sent["envelope"]["edk"],
                "encryption_context": {"room_id": sent["room_id"]},
                "grant": grant,
            },
        )


async def junk_until_refused(kms_url: str) -> list[int]:
    """Anonymous junk from this host, the chat server's address, until the key service
    answers 429 to its address."""
    statuses: list[int] = []
    async with httpx.AsyncClient() as http:
        while not statuses or statuses[-1] != 429:
            assert len(statuses) < 500, "the key service never limited the junk"
            junk = await http.post(
                f"{kms_url}/kms/decrypt",
                headers={"Authorization": "Bearer junk"},
                json={"ciphertext_blob": "AAAA", "encryption_context": {"room_id": "r"}},
            )
            statuses.append(junk.status_code)
    return statuses


async def room_with_bob(
    chat_url: str, alice: SealchatClient, bob: SealchatClient
) -> tuple[dict[str, Any], Any]:
    """alice's private room with bob in it and one sealed message bob can open."""
    await alice.register(unique_name(), PASSWORD)
    await bob.register(unique_name(), PASSWORD)
    room = await alice.create_room("split", visibility="private")
    await add_member(alice, bob, room["id"])
    await alice.connect()
    sent = await alice.send_text(room["id"], "before the removal")
    assert (await bob.open(sent)).text == "before the removal"
    return room, sent


async def test_junk_from_the_chat_servers_address_cannot_suppress_a_revocation(
    tmp_path: Path,
) -> None:
    # A small per-address budget, so that junk reaches it quickly.
    limits = {"SEALCHAT_KMS_RATE_BURST": "20", "SEALCHAT_KMS_RATE_PER_SECOND": "0.01"}
    with split(tmp_path, kms_env=limits) as deployment:
        assert deployment.chat is not None and deployment.kms is not None
        chat, kms = deployment.chat, deployment.kms
        async with SealchatClient(chat.url) as alice, SealchatClient(chat.url) as bob:
            room, sent = await room_with_bob(chat.url, alice, bob)
            kept_grant = await bob.grants.get(room["id"])

            # This test and the chat server share 127.0.0.1: the junk empties the
            # bucket of the chat server's address.
            assert (await junk_until_refused(kms.url))[-1] == 429
            await alice.remove_member(room["id"], bob.user["id"])  # type: ignore[index]

            refused = await kms_decrypt(kms.url, bob, sent, kept_grant)
            assert refused.status_code == 403, refused.text
            assert "membership" in refused.json()["error"]["message"]


def outbox_rows(chat_dir: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(chat_dir / "sealchat.db") as db:
        query = "SELECT user_id, room_id, attempts FROM revocation_outbox"
        return [(str(u), str(r), int(a)) for u, r, a in db.execute(query).fetchall()]


async def test_a_revocation_pending_while_the_key_service_is_down_survives_a_restart(
    tmp_path: Path,
) -> None:
    retries = {
        "SEALCHAT_REVOCATION_RETRY_INITIAL_SECONDS": "0.5",
        "SEALCHAT_REVOCATION_RETRY_MAX_SECONDS": "2",
    }
    with split(tmp_path, chat_env=retries) as deployment:
        assert deployment.chat is not None and deployment.kms is not None
        chat = deployment.chat
        async with SealchatClient(chat.url) as alice, SealchatClient(chat.url) as bob:
            room, sent = await room_with_bob(chat.url, alice, bob)
            kept_grant = await bob.grants.get(room["id"])
            bob_id = bob.user["id"]  # type: ignore[index]

            # The key service is down when bob is removed: the removal stands, the
            # notice waits in the chat database.
            deployment.kms.stop()
            await alice.remove_member(room["id"], bob_id)
            assert [(u, r) for u, r, _ in outbox_rows(chat.data_dir)] == [(bob_id, room["id"])]
            await alice.close()

            # The chat server stops before the key service is back; both then start.
            chat.stop()
            kms = deployment.start_kms()
            deployment.start_chat()

            deadline = time.monotonic() + 45
            while True:
                answer = await kms_decrypt(kms.url, bob, sent, kept_grant)
                if answer.status_code == 403 or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.25)
            assert answer.status_code == 403, answer.text
            assert "membership" in answer.json()["error"]["message"]
            # The row goes once the chat server has read the key service's answer, which
            # can be a moment after the key service has recorded the revocation.
            while outbox_rows(chat.data_dir) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            assert outbox_rows(chat.data_dir) == []


async def test_no_grant_requested_during_a_removal_outlives_it(tmp_path: Path) -> None:
    """25 grant requests race a removal; every grant bob got must be refused afterwards."""
    limits = {"SEALCHAT_KMS_RATE_BURST": "1000", "SEALCHAT_KMS_RATE_PER_SECOND": "1000"}
    with split(tmp_path, kms_env=limits) as deployment:
        assert deployment.chat is not None and deployment.kms is not None
        chat, kms = deployment.chat, deployment.kms
        async with (
            SealchatClient(chat.url) as alice,
            SealchatClient(chat.url) as bob,
            httpx.AsyncClient(base_url=chat.url) as http,
        ):
            room, sent = await room_with_bob(chat.url, alice, bob)
            bob_id = bob.user["id"]  # type: ignore[index]
            headers = {"Authorization": f"Bearer {bob.api.access_token}"}

            async def grant() -> str | None:
                answer = await http.post(f"/api/rooms/{room['id']}/key-grant", headers=headers)
                return str(answer.json()["grant"]) if answer.status_code == 200 else None

            for _ in range(5):
                requests = [asyncio.create_task(grant()) for _ in range(25)]
                await asyncio.sleep(0.005)
                await alice.remove_member(room["id"], bob_id)
                grants = [g for g in await asyncio.gather(*requests) if g is not None]
                for kept in grants:
                    answer = await kms_decrypt(kms.url, bob, sent, kept)
                    assert answer.status_code == 403, answer.text
                await add_member(alice, bob, room["id"])
