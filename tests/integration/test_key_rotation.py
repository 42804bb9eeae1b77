"""Rotating the identity and grant signing keys under running servers (`sealchat keys`):
tokens and grants held from before stay good until the old key is retired, new ones are
signed with the new key, and every node sharing the secrets directory follows without a
restart, including a key service of its own that fetches the JWKS over HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from sealchat.client import SealchatClient
from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import TEST_ENV, LiveServer, free_port, start_server

RELOAD = {"SEALCHAT_KEY_RELOAD_SECONDS": "0.2"}


def keys(secrets: Path, *args: str) -> str:
    env = {**os.environ, **TEST_ENV, "SEALCHAT_SECRETS_DIR": str(secrets)}
    done = subprocess.run(
        [sys.executable, "-m", "sealchat", "keys", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def kid_of(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


def published(url: str, path: str) -> list[str]:
    return [key["kid"] for key in httpx.get(f"{url}{path}").json()["keys"]]


IDP_JWKS = "/.well-known/jwks.json"
GRANT_JWKS = "/.well-known/sealchat-grant-jwks.json"


def rooms_status(url: str, token: str) -> int:
    return httpx.get(f"{url}/api/rooms", headers={"Authorization": f"Bearer {token}"}).status_code


def decrypt_status(kms_url: str, kms_token: str, grant: str, edk: str, room_id: str) -> int:
    answer = httpx.post(
        f"{kms_url}/decrypt",
        headers={"Authorization": f"Bearer {kms_token}"},
        json={"ciphertext_blob": edk, "encryption_context": {"room_id": room_id}, "grant": grant},
    )
    return answer.status_code


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    live = start_server(tmp_path / "node", RELOAD)
    yield live
    live.stop()


async def test_held_tokens_and_grants_survive_a_rotation_until_retired(
    server: LiveServer,
) -> None:
    secrets = server.data_dir
    async with SealchatClient(server.url) as alice:
        await alice.register(unique_name(), PASSWORD)
        room = await alice.create_room("rotation", visibility="private")
        await alice.connect()
        sent = await alice.send_text(room["id"], "before the rotation")
        token, kms_token = alice.api.access_token, alice.api.kms_access_token
        grant = await alice.grants.get(room["id"])
        assert token and kms_token
        old_identity, old_grant = kid_of(token), kid_of(grant)

        for kind in ("identity", "grants"):
            assert "staged" in keys(secrets, "rotate", kind)
        time.sleep(0.5)
        assert len(published(server.url, IDP_JWKS)) == 2
        assert len(published(server.url, GRANT_JWKS)) == 2
        # Published, not signing yet.
        assert kid_of((await alice.api.post(f"/api/rooms/{room['id']}/key-grant"))["grant"]) == (
            old_grant
        )
        for kind in ("identity", "grants"):
            assert "now signs" in keys(secrets, "rotate", kind, "--force")
        time.sleep(0.5)
        listing = keys(secrets, "list")
        assert f"retired  {time.strftime('%Y')}" in listing.replace("retired ", "retired  ", 1)
        assert old_identity in listing and old_grant in listing

        # Held from before: still accepted by the chat server and the key service.
        edk, kms = sent["envelope"]["edk"], f"{server.url}/kms"
        assert rooms_status(server.url, token) == 200
        assert decrypt_status(kms, kms_token, grant, edk, room["id"]) == 200
        # New ones are signed with the new keys, and accepted.
        async with SealchatClient(server.url) as again:
            await again.login(alice.user["username"], PASSWORD)  # type: ignore[index]
            new_token, new_kms = again.api.access_token, again.api.kms_access_token
            assert new_token and new_kms and kid_of(new_token) != old_identity
            new_grant = (await again.api.post(f"/api/rooms/{room['id']}/key-grant"))["grant"]
            assert kid_of(new_grant) != old_grant
            assert rooms_status(server.url, new_token) == 200
            assert decrypt_status(kms, new_kms, new_grant, edk, room["id"]) == 200

            # Retired now (as after a suspected leak): what the old keys signed is refused.
            keys(secrets, "retire", "identity", "--kid", old_identity)
            keys(secrets, "retire", "grants", "--kid", old_grant)
            time.sleep(0.5)
            assert rooms_status(server.url, token) == 401
            assert decrypt_status(kms, kms_token, new_grant, edk, room["id"]) == 401
            assert decrypt_status(kms, new_kms, grant, edk, room["id"]) == 403
            assert decrypt_status(kms, new_kms, new_grant, edk, room["id"]) == 200


def test_two_nodes_and_a_key_service_follow_one_secrets_directory(tmp_path: Path) -> None:
    """The cluster layout in small: two chat nodes on one database and one secrets
    directory, the key service on its own, fetching the JWKS from node B."""
    secrets, a_port, b_port, kms_port = tmp_path / "secrets", free_port(), free_port(), free_port()
    public = f"http://127.0.0.1:{a_port}"
    shared = {
        **RELOAD,
        "SEALCHAT_SECRETS_DIR": str(secrets),
        "SEALCHAT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
        "SEALCHAT_PUBLIC_URL": public,  # one issuer for the cluster
        "SEALCHAT_KMS_EMBEDDED": "false",
        "SEALCHAT_KMS_URL": f"http://127.0.0.1:{kms_port}/kms",
    }
    started: list[LiveServer] = []
    try:
        node_a = start_server(tmp_path / "a", shared, port=a_port)
        started.append(node_a)
        node_b = start_server(tmp_path / "b", shared, port=b_port)
        started.append(node_b)
        b_url = node_b.url
        kms = start_server(
            tmp_path / "kms",
            {
                "SEALCHAT_TOKEN_ISSUER": public,
                "SEALCHAT_KMS_GRANT_ISSUER": public,
                "SEALCHAT_JWKS_URL": f"{b_url}{IDP_JWKS}",
                "SEALCHAT_KMS_GRANT_JWKS_URL": f"{b_url}{GRANT_JWKS}",
            },
            command=("kms", "serve"),
            health_path="/kms/healthz",
            port=kms_port,
        )
        started.append(kms)
        assert not (tmp_path / "a" / "identity").exists()  # the keys are in the secrets dir
        assert published(node_a.url, IDP_JWKS) == published(b_url, IDP_JWKS)
        with httpx.Client() as api:
            run_cluster_rotation(api, node_a, node_b, f"{kms.url}/kms", secrets)
    finally:
        for live in reversed(started):
            live.stop()


def run_cluster_rotation(
    api: httpx.Client, a: LiveServer, b: LiveServer, kms: str, secrets: Path
) -> None:
    def signed_in(url: str, username: str, register: bool) -> dict[str, Any]:
        path = "/api/auth/register" if register else "/api/auth/login"
        answer = api.post(f"{url}{path}", json={"username": username, "password": PASSWORD})
        assert answer.status_code in (200, 201), answer.text
        return dict(answer.json())

    def grant_from(url: str, token: str, room_id: str) -> str:
        answer = api.post(
            f"{url}/api/rooms/{room_id}/key-grant", headers={"Authorization": f"Bearer {token}"}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["grant"])

    def data_key(token: str, grant: str, room_id: str) -> int:
        answer = api.post(
            f"{kms}/generate-data-key",
            headers={"Authorization": f"Bearer {token}"},
            json={"encryption_context": {"room_id": room_id}, "grant": grant},
        )
        return answer.status_code

    username = unique_name()
    before = signed_in(a.url, username, register=True)
    room = api.post(
        f"{b.url}/api/rooms",
        headers={"Authorization": f"Bearer {before['access_token']}"},
        json={"name": "cluster", "visibility": "private"},
    ).json()["room"]
    old_grant = grant_from(b.url, before["access_token"], room["id"])
    assert data_key(before["kms_access_token"], old_grant, room["id"]) == 200  # KMS caches JWKS

    for kind in ("identity", "grants"):
        keys(secrets, "rotate", kind)
    time.sleep(0.5)
    assert len(published(b.url, IDP_JWKS)) == len(published(a.url, GRANT_JWKS)) == 2
    # The promotion waits until the key service's JWKS cache may refetch (30 s): that is
    # the delay the two steps exist for (SEALCHAT_KEY_ACTIVATION_DELAY_SECONDS, 300 s).
    time.sleep(31)
    for kind in ("identity", "grants"):
        keys(secrets, "rotate", kind, "--force")
    time.sleep(0.5)

    after = signed_in(b.url, username, register=False)
    assert kid_of(after["access_token"]) != kid_of(before["access_token"])
    new_grant = grant_from(a.url, after["access_token"], room["id"])
    assert kid_of(new_grant) != kid_of(old_grant)
    for node in (a, b):  # every node: old and new tokens
        assert rooms_status(node.url, before["access_token"]) == 200
        assert rooms_status(node.url, after["access_token"]) == 200
    # The key service accepts both generations of tokens and grants during the overlap.
    assert data_key(after["kms_access_token"], new_grant, room["id"]) == 200
    assert data_key(before["kms_access_token"], old_grant, room["id"]) == 200
    assert data_key(after["kms_access_token"], old_grant, room["id"]) == 200

    keys(secrets, "retire", "identity", "--kid", kid_of(before["access_token"]))
    time.sleep(0.5)
    for node in (a, b):
        assert rooms_status(node.url, before["access_token"]) == 401
        assert rooms_status(node.url, after["access_token"]) == 200
