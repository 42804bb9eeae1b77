"""The key service as its own process (`sealchat kms serve`), beside the chat server."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sealchat.client import ClientError, SealchatClient
from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import TEST_ENV, LiveServer, free_port, start_server
from tests.membership import add_member


@pytest.fixture
def split_deployment(tmp_path: Path) -> Iterator[tuple[LiveServer, LiveServer]]:
    chat_port, kms_port = free_port(), free_port()
    chat_url, kms_url = f"http://127.0.0.1:{chat_port}", f"http://127.0.0.1:{kms_port}"
    chat = start_server(
        tmp_path / "chat",
        {
            "SEALCHAT_KMS_EMBEDDED": "false",
            "SEALCHAT_KMS_URL": f"{kms_url}/kms",
        },
        port=chat_port,
    )
    kms = start_server(
        tmp_path / "kms",
        {
            "SEALCHAT_TOKEN_ISSUER": chat_url,
            "SEALCHAT_JWKS_URL": f"{chat_url}/.well-known/jwks.json",
            "SEALCHAT_KMS_GRANT_ISSUER": chat_url,
            "SEALCHAT_KMS_GRANT_JWKS_URL": f"{chat_url}/.well-known/sealchat-grant-jwks.json",
        },
        command=("kms", "serve"),
        health_path="/kms/healthz",
        port=kms_port,
    )
    yield chat, kms
    kms.stop()
    chat.stop()


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
