"""Logs at debug level, in JSON, after real traffic: one JSON object per line, ids on the
lines of requests and sockets, and no password, token, envelope or key anywhere."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from sealchat.client import SealchatClient
from sealchat.client.key_service import DataKey, EmbeddedKmsClient
from tests.integration.conftest import PASSWORD, unique_name
from tests.integration.raw_socket import RawSocket
from tests.live_server import start_server


async def test_debug_logs_hold_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets: dict[str, str] = {"password": PASSWORD, "wrong password": "not the password 42"}
    data_keys: list[bytes] = []
    generate = EmbeddedKmsClient.generate_data_key
    decrypt = EmbeddedKmsClient.decrypt

    async def recording_generate(self: Any, key_id: str, context: dict[str, str]) -> DataKey:
        key: DataKey = await generate(self, key_id, context)
        data_keys.append(key.plaintext)
        return key

    async def recording_decrypt(self: Any, blob: bytes, context: dict[str, str]) -> bytes:
        plaintext: bytes = await decrypt(self, blob, context)
        data_keys.append(plaintext)
        return plaintext

    monkeypatch.setattr(EmbeddedKmsClient, "generate_data_key", recording_generate)
    monkeypatch.setattr(EmbeddedKmsClient, "decrypt", recording_decrypt)

    server = start_server(tmp_path, {"SEALCHAT_LOG_LEVEL": "debug", "SEALCHAT_LOG_FORMAT": "json"})
    alice, bob = SealchatClient(server.url), SealchatClient(server.url)
    try:
        bob_name = unique_name()
        signed_up = await alice.register(unique_name(), PASSWORD)
        await bob.register(bob_name, PASSWORD)
        tokens = alice.api.authenticator
        secrets["access token"] = str(tokens.access_token_value)
        secrets["refresh token"] = str(tokens.refresh_token)
        secrets["kms token"] = str(getattr(tokens, "kms_access_token", None))
        await tokens.refresh()
        secrets["refreshed access token"] = str(tokens.access_token_value)
        secrets["refreshed refresh token"] = str(tokens.refresh_token)
        assert signed_up

        room = await alice.create_room("secrets")
        await bob.join(room["id"])
        await alice.connect()
        await bob.connect()
        sent = await alice.send_text(room["id"], "a sealed secret")
        opened = await bob.next_opened()
        assert opened.text == "a sealed secret"
        secrets["envelope ct"] = sent["envelope"]["ct"]
        secrets["envelope edk"] = sent["envelope"]["edk"]
        # A refused event, a wrong password and a bad token: refusal paths log too.
        raw = RawSocket()
        assert bob.api.access_token
        await raw.connect(server.url, bob.api.access_token)
        refused = await raw.call("message:send", {"room_id": room["id"], "envelope": {}})
        assert refused["ok"] is False
        await raw.close()
        async with httpx.AsyncClient(base_url=server.url) as http:
            wrong = {"username": bob_name, "password": secrets["wrong password"]}
            assert (await http.post("/api/auth/login", json=wrong)).status_code == 401
            bad = {"Authorization": f"Bearer {secrets['access token']}x"}
            assert (await http.get("/api/rooms", headers=bad)).status_code == 401
    finally:
        await alice.close()
        await bob.close()
        server.stop()

    assert data_keys, "the clients called the key service"
    for n, key in enumerate(data_keys):
        secrets[f"data key {n} (base64)"] = base64.b64encode(key).decode()
        secrets[f"data key {n} (hex)"] = key.hex()
    text = server.log_text()
    lines = [line for line in text.splitlines() if line.startswith("{")]
    assert len(lines) > 10, text[-2000:]
    entries = [json.loads(line) for line in lines]
    assert any(e.get("socket_id") for e in entries), "socket events carry their socket id"
    assert any(e.get("request_id") for e in entries), "requests carry their request id"
    assert any(e["level"] == "debug" for e in entries)
    for what, secret in secrets.items():
        assert secret and secret != "None", what
        assert secret not in text, f"the {what} is in the log"
