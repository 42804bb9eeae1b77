"""Only fully valid access tokens open a socket or an API route."""

from __future__ import annotations

import base64
import hmac
import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import socketio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sealchat.client import SealchatClient
from tests.envelopes import label_of, opaque_envelope
from tests.integration.conftest import PASSWORD, ClientFactory, unique_name
from tests.live_server import LiveServer, start_server


def server_signing_key(server: LiveServer) -> Ed25519PrivateKey:
    pem = next(server.data_dir.rglob("*.pem")).read_bytes()
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return key


def claims(server: LiveServer, user: dict[str, Any], **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": server.url,
        "sub": user["id"],
        "aud": "sealchat",
        "iat": now,
        "exp": now + 300,
        "jti": uuid.uuid4().hex,
        "username": user["username"],
        "token_use": "access",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def refused_by_socket(server: LiveServer, token: str | None) -> dict[str, Any]:
    """Connect and expect a refusal; return the ``connect_error`` data."""
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[Any] = []
    sio.on("connect_error", errors.append)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(
            server.url,
            auth=None if token is None else {"token": token},
            transports=["websocket"],
            wait_timeout=5,
        )
    await sio.disconnect()
    assert len(errors) == 1
    # The CONNECT_ERROR packet is {"message": ..., "data": {"code", "message"}}.
    packet: dict[str, Any] = errors[0]
    assert packet["message"]
    data: dict[str, Any] = packet["data"]
    return data


async def test_bad_tokens_are_refused_everywhere(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice = await new_client()
    user = alice.user
    assert user is not None
    kid = httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"][0]["kid"]
    real_key = server_signing_key(server)
    public_pem = real_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"kid": kid}

    def sign(payload: dict[str, Any], key: Any = real_key, alg: str = "EdDSA") -> str:
        return jwt.encode(payload, key, algorithm=alg, headers=header)

    good = sign(claims(server, user))
    bad_tokens = {
        "forged": sign(claims(server, user), Ed25519PrivateKey.generate()),
        "expired": sign(
            claims(server, user, iat=int(time.time()) - 3600, exp=int(time.time()) - 60)
        ),
        "wrong audience": sign(claims(server, user, aud="someone-else")),
        "wrong issuer": sign(claims(server, user, iss="https://evil.example")),
        "no expiry": sign(claims(server, user, exp=None)),
        "id token": sign(claims(server, user, token_use="id")),
        "alg none": b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        + "."
        + b64(json.dumps(claims(server, user)).encode())
        + ".",
        "hmac with public key": b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
        + "."
        + b64(json.dumps(claims(server, user)).encode())
        + "."
        + b64(
            __import__("hmac")
            .new(
                public_pem,
                (
                    b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
                    + "."
                    + b64(json.dumps(claims(server, user)).encode())
                ).encode(),
                "sha256",
            )
            .digest()
        ),
        "garbage": "not-a-jwt",
        "empty": "",
    }
    async with httpx.AsyncClient(base_url=server.url) as http:
        ok = await http.get("/api/me", headers={"Authorization": f"Bearer {good}"})
        assert ok.status_code == 200 and ok.json()["user"]["id"] == user["id"]
        for name, token in bad_tokens.items():
            bearer = {"Authorization": f"Bearer {token}"} if token else {}
            response = await http.get("/api/me", headers=bearer)
            assert response.status_code == 401, name
            assert response.json()["error"]["code"] in ("unauthorized", "token_expired"), name
            data = await refused_by_socket(server, token)
            assert data.get("code") in ("unauthorized", "token_expired"), (name, data)
            assert data.get("message"), name
    data = await refused_by_socket(server, bad_tokens["expired"])
    assert data["code"] == "token_expired"


async def test_missing_auth_is_refused_with_unauthorized(server: LiveServer) -> None:
    data = await refused_by_socket(server, None)
    assert data["code"] == "unauthorized"
    assert "token" in data["message"]


async def test_expired_session_is_disconnected_and_the_client_resumes(
    tmp_path: Path,
) -> None:
    short = start_server(tmp_path / "short", {"SEALCHAT_ACCESS_TOKEN_TTL_SECONDS": "3"})
    try:
        async with SealchatClient(short.url) as alice, SealchatClient(short.url) as bob:
            await alice.register(unique_name(), PASSWORD)
            await bob.register(unique_name(), PASSWORD)
            room = await alice.create_room("ticking")
            await bob.join(room["id"])
            expirations: list[Any] = []
            bob.on("session:expired", expirations.append)
            await bob.connect()
            first_token = bob.api.access_token
            await asyncio_sleep_until(lambda: bool(expirations), 8)
            assert expirations[0]["code"] == "token_expired"
            # The client refreshes its tokens, reconnects and keeps receiving.
            await asyncio_sleep_until(lambda: bob.connected.is_set(), 8)
            assert bob.api.access_token != first_token
            await alice.connect()
            await alice.send(room["id"], opaque_envelope("still here?"))
            assert label_of((await bob.next_message())["envelope"]) == "still here?"
    finally:
        short.stop()


async def asyncio_sleep_until(predicate: Any, timeout: float) -> None:
    import asyncio

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.05)


def token_matrix(server: LiveServer, user: dict[str, Any], audience: str) -> dict[str, str]:
    """Tokens one flaw away from a valid access token for ``audience``; the valid one
    comes first, as "valid"."""
    kid = httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"][0]["kid"]
    key = server_signing_key(server)
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())

    def sign(payload: dict[str, Any], signer: Any = key, **header: Any) -> str:
        return jwt.encode(payload, signer, algorithm="EdDSA", headers={"kid": kid, **header})

    def unsigned(alg: str, payload: dict[str, Any], secret: bytes | None) -> str:
        head = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
        body = b64(json.dumps(payload).encode())
        signing_input = f"{head}.{body}".encode()
        mac = b"" if secret is None else hmac.new(secret, signing_input, "sha256").digest()
        return f"{head}.{body}.{b64(mac)}"

    valid = claims(server, user, aud=audience)
    head, _, signature = sign(valid).split(".")
    altered = {**valid, "sub": str(uuid.uuid4())}
    return {
        "valid": sign(valid),
        "alg none": unsigned("none", valid, None),
        "HMAC with the public key": unsigned("HS256", valid, public_pem),
        "expired": sign({**valid, "iat": now - 3600, "exp": now - 60}),
        "not yet valid": sign({**valid, "nbf": now + 3600}),
        "wrong issuer": sign({**valid, "iss": "https://evil.example"}),
        "wrong audience": sign({**valid, "aud": "someone-else"}),
        "unknown kid": sign(valid, kid="no-such-key"),
        "altered payload": f"{head}.{b64(json.dumps(altered).encode())}.{signature}",
        "forged": sign(valid, Ed25519PrivateKey.generate()),
    }


async def test_token_matrix_at_the_chat_server_and_the_key_service(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice = await new_client()
    assert alice.user is not None
    authenticator: Any = alice.api.authenticator
    # Each service's real token is refused at the other.
    chat_matrix = {
        **token_matrix(server, alice.user, "sealchat"),
        "a key-service token": authenticator.kms_access_token,
    }
    kms_matrix = {
        **token_matrix(server, alice.user, "sealchat-kms"),
        "a chat-server token": alice.api.access_token,
    }
    async with httpx.AsyncClient(base_url=server.url) as http:
        for name, token in chat_matrix.items():
            answer = await http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
            if name == "valid":
                assert answer.status_code == 200
                continue
            assert answer.status_code == 401, name
            assert answer.json()["error"]["code"] in ("unauthorized", "token_expired"), name
            refused = await refused_by_socket(server, token)
            assert refused["code"] in ("unauthorized", "token_expired"), (name, refused)
        for name, token in kms_matrix.items():
            answer = await http.get("/kms/keys", headers={"Authorization": f"Bearer {token}"})
            if name == "valid":
                assert answer.status_code == 200, answer.text
                continue
            assert answer.status_code == 401, (name, answer.text)
            assert answer.json()["error"]["code"] in ("unauthorized", "token_expired"), name
