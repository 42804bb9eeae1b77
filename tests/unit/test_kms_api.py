"""The key service over HTTP: key use with grants, every refusal audited, admin, limits."""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from sealchat.adapters.jwt_verifier import StaticJwks
from sealchat.adapters.sql.engine import create_engine
from sealchat.api.errors import install_error_handlers
from sealchat.identity.keys import SigningKey
from sealchat.kms.api import build_kms_router, install_kms_error_handlers
from sealchat.kms.errors import KeyServiceConfigError
from sealchat.kms.grants import GRANT_TYPE
from sealchat.kms.models import AuditEntry, Operation
from sealchat.kms.runtime import (
    create_kms_app,
    kms_grant_verifier,
    kms_user_verifier,
    open_key_service,
    read_audit,
)
from sealchat.settings import Settings

PUBLIC_URL = "http://chat.test"
ALICE, BOB = ("user-alice", "alice"), ("user-bob", "bob")
ROOM = "room-1"


@dataclass
class Kms:
    client: httpx.AsyncClient
    settings: Settings
    idp_key: SigningKey
    grant_key: SigningKey

    def token(self, user: tuple[str, str] = ALICE, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": PUBLIC_URL,
            "aud": "sealchat-kms",
            "sub": user[0],
            "username": user[1],
            "iat": now,
            "exp": now + 900,
            "jti": f"t-{now}",
            "token_use": "access",
            **overrides,
        }
        return self.idp_key.sign(claims)

    def headers(self, user: tuple[str, str] = ALICE, **overrides: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user, **overrides)}"}

    def grant(
        self,
        user: tuple[str, str] = ALICE,
        room_id: str = ROOM,
        key: SigningKey | None = None,
        **overrides: Any,
    ) -> str:
        now = int(time.time())
        claims = {
            "iss": PUBLIC_URL,
            "aud": "sealchat-kms",
            "sub": user[0],
            "room_id": room_id,
            "iat": now,
            "exp": now + 120,
            "jti": f"g-{now}",
            "typ": GRANT_TYPE,
            **overrides,
        }
        return (key or self.grant_key).sign(claims)

    async def generate(
        self, user: tuple[str, str] = ALICE, room_id: str = ROOM, **body: Any
    ) -> httpx.Response:
        payload = {"encryption_context": {"room_id": room_id}, "grant": self.grant(user, room_id)}
        return await self.client.post(
            "/kms/generate-data-key", json={**payload, **body}, headers=self.headers(user)
        )

    async def decrypt(
        self, blob: str, user: tuple[str, str] = ALICE, room_id: str = ROOM, **body: Any
    ) -> httpx.Response:
        payload = {
            "ciphertext_blob": blob,
            "encryption_context": {"room_id": room_id},
            "grant": self.grant(user, room_id),
        }
        return await self.client.post(
            "/kms/decrypt", json={**payload, **body}, headers=self.headers(user)
        )

    async def last_audit(self) -> AuditEntry:
        return (await read_audit(self.settings, 1))[0].entry


@asynccontextmanager
async def running_kms(tmp_path: Path, **settings: Any) -> AsyncIterator[Kms]:
    config = Settings(
        data_dir=tmp_path,
        public_url=PUBLIC_URL,
        kms_admins=["Admin"],
        _env_file=None,
        **settings,
    )
    idp_key, grant_key = SigningKey.generate(), SigningKey.generate()
    users = kms_user_verifier(config, StaticJwks(lambda: {"keys": [idp_key.jwk()]}))
    grants = kms_grant_verifier(config, StaticJwks(lambda: {"keys": [grant_key.jwk()]}))
    async with open_key_service(config, users, grants) as service:
        app = FastAPI()
        install_error_handlers(app)
        install_kms_error_handlers(app)
        app.include_router(build_kms_router(service))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kms.test") as client:
            yield Kms(client, config, idp_key, grant_key)


@pytest.fixture
async def kms(tmp_path: Path) -> AsyncIterator[Kms]:
    async with running_kms(tmp_path) as kms:
        yield kms


async def test_generate_then_decrypt_with_a_valid_grant(kms: Kms) -> None:
    made = await kms.generate()
    assert made.status_code == 200, made.text
    assert made.headers["cache-control"] == "no-store"
    body = made.json()
    assert body["key_id"] == "sealchat-messages" and body["key_version"] == 1
    plaintext = base64.b64decode(body["plaintext"])
    assert len(plaintext) == 32
    generated = await kms.last_audit()
    opened = await kms.decrypt(body["ciphertext_blob"])
    assert opened.status_code == 200, opened.text
    assert opened.headers["cache-control"] == "no-store"
    assert opened.json() == {
        "key_id": "sealchat-messages",
        "key_version": 1,
        "plaintext": body["plaintext"],
    }
    decrypted = await kms.last_audit()
    for entry, operation in ((generated, Operation.GENERATE_DATA_KEY), (decrypted, "decrypt")):
        assert entry.operation == operation
        assert (entry.actor_user_id, entry.actor_username) == ALICE
        assert (entry.key_id, entry.key_version) == ("sealchat-messages", 1)
        assert entry.encryption_context == {"room_id": ROOM}
        assert entry.allowed is True and entry.reason is None
        assert entry.at.tzinfo is not None and abs(entry.at.timestamp() - time.time()) < 60
        assert entry.source == "127.0.0.1"


async def test_another_member_of_the_room_opens_the_blob(kms: Kms) -> None:
    blob = (await kms.generate()).json()["ciphertext_blob"]
    opened = await kms.decrypt(blob, user=BOB)
    assert opened.status_code == 200


REFUSALS = {
    "no token": (401, "unauthorized", "missing bearer token"),
    "token for the chat audience": (401, "unauthorized", "another audience"),
    "a grant as the bearer token": (401, "unauthorized", "no subject or username"),
    "no grant": (403, "access_denied", "room-access grant is required"),
    "grant for another room": (403, "access_denied", "for another room"),
    "grant for another user": (403, "access_denied", "issued to another user"),
    "expired grant": (403, "access_denied", "has expired"),
    "grant signed by an unknown key": (403, "access_denied", "unknown key"),
    "an access token as the grant": (403, "access_denied", "unknown key"),
    "missing room_id in context": (403, "access_denied", "must name the room"),
}


def refused_request(kms: Kms, case: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of a generate-data-key request refused for ``case``."""
    body: dict[str, Any] = {"encryption_context": {"room_id": ROOM}, "grant": kms.grant()}
    headers = kms.headers()
    past = int(time.time()) - 600
    if case == "no token":
        headers = {}
    elif case == "token for the chat audience":
        headers = kms.headers(aud="sealchat")
    elif case == "a grant as the bearer token":
        headers = {"Authorization": f"Bearer {kms.grant(key=kms.idp_key)}"}
    elif case == "no grant":
        del body["grant"]
    elif case == "grant for another room":
        body["grant"] = kms.grant(room_id="room-2")
    elif case == "grant for another user":
        body["grant"] = kms.grant(user=BOB)
    elif case == "expired grant":
        body["grant"] = kms.grant(iat=past, exp=past + 120)
    elif case == "grant signed by an unknown key":
        body["grant"] = kms.grant(key=SigningKey.generate())
    elif case == "an access token as the grant":
        body["grant"] = kms.token()
    elif case == "missing room_id in context":
        body["encryption_context"] = {"purpose": "message"}
    return body, headers


@pytest.mark.parametrize("case", list(REFUSALS))
async def test_refusals_are_audited(kms: Kms, case: str) -> None:
    status, code, reason = REFUSALS[case]
    body, headers = refused_request(kms, case)
    response = await kms.client.post("/kms/generate-data-key", json=body, headers=headers)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and reason in error["message"]
    assert "plaintext" not in response.text
    entry = await kms.last_audit()
    assert entry.operation == Operation.GENERATE_DATA_KEY
    assert entry.allowed is False
    assert entry.reason == error["message"]
    assert entry.key_id == "sealchat-messages"
    assert entry.encryption_context == body["encryption_context"]
    if status == 401:
        assert entry.actor_user_id is None and entry.actor_username is None
    else:
        assert (entry.actor_user_id, entry.actor_username) == ALICE


async def test_decrypt_refuses_without_a_grant_for_the_blobs_room(kms: Kms) -> None:
    blob = (await kms.generate()).json()["ciphertext_blob"]
    # A grant for room-2 with a context naming room-2: the context does not open the blob.
    other_room = await kms.decrypt(blob, room_id="room-2")
    assert other_room.status_code == 400
    assert other_room.json()["error"]["code"] == "invalid_ciphertext"
    # The blob's own room named, with a grant for another room: refused.
    wrong_grant = await kms.decrypt(blob, grant=kms.grant(room_id="room-2"))
    assert wrong_grant.status_code == 403
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed) == (Operation.DECRYPT, False)
    assert (entry.key_id, entry.key_version) == ("sealchat-messages", 1)


# "é€AA": not ASCII, which base64 refuses with a ValueError of its own (found by
# schemathesis, tests/integration/test_fuzz_rest.py; it was a 500).
@pytest.mark.parametrize(
    "blob", ["", "AAAA", "not base64!", "é€AA", base64.b64encode(b"x" * 80).decode()]
)
async def test_decrypt_refuses_invalid_blobs(kms: Kms, blob: str) -> None:
    response = await kms.decrypt(blob)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_ciphertext"
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed) == (Operation.DECRYPT, False)


async def test_decrypt_checks_the_expected_key_when_given(kms: Kms) -> None:
    blob = (await kms.generate()).json()["ciphertext_blob"]
    assert (await kms.decrypt(blob, key_id="sealchat-messages")).status_code == 200
    other = await kms.decrypt(blob, key_id="another-key")
    assert other.status_code == 400
    assert "not made with key 'another-key'" in other.json()["error"]["message"]


async def test_a_tampered_blob_is_an_invalid_ciphertext(kms: Kms) -> None:
    raw = bytearray(base64.b64decode((await kms.generate()).json()["ciphertext_blob"]))
    raw[-1] ^= 1
    response = await kms.decrypt(base64.b64encode(bytes(raw)).decode())
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_ciphertext"


async def test_unknown_key_is_not_found(kms: Kms) -> None:
    response = await kms.generate(key_id="no-such-key")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "key_not_found"
    assert (await kms.last_audit()).allowed is False


async def test_context_must_be_a_small_flat_string_map(kms: Kms) -> None:
    nested = await kms.generate(encryption_context={"room_id": ROOM, "x": {"y": "z"}})
    assert nested.status_code == 422
    too_big = {"room_id": ROOM, **{f"k{i}": "v" for i in range(16)}}
    assert (await kms.generate(encryption_context=too_big)).status_code == 422


async def test_only_admins_create_and_rotate_keys(kms: Kms) -> None:
    admin = kms.headers(("user-admin", "admin"))
    new_key = {"key_id": "team/archive", "description": "archived rooms"}
    refused = await kms.client.post("/kms/keys", json=new_key, headers=kms.headers())
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "access_denied"
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed, entry.key_id) == ("create-key", False, "team/archive")

    created = await kms.client.post("/kms/keys", json=new_key, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["key_id"] == "team/archive"
    assert created.json()["current_version"] == 1
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed, entry.key_version) == ("create-key", True, 1)
    assert entry.actor_username == "admin"
    again = await kms.client.post("/kms/keys", json=new_key, headers=admin)
    assert again.status_code == 409

    rotate = "/kms/keys/team/archive/rotate"
    assert (await kms.client.post(rotate, headers=kms.headers())).status_code == 403
    rotated = await kms.client.post(rotate, headers=admin)
    assert rotated.json() == {"key_id": "team/archive", "current_version": 2}
    entry = await kms.last_audit()
    assert (entry.operation, entry.allowed, entry.key_version) == ("rotate-key", True, 2)
    missing = await kms.client.post("/kms/keys/nope/rotate", headers=admin)
    assert missing.status_code == 404

    made = await kms.generate(key_id="team/archive")
    assert made.json()["key_version"] == 2


async def test_any_caller_lists_and_describes_keys(kms: Kms) -> None:
    listed = await kms.client.get("/kms/keys", headers=kms.headers())
    assert listed.status_code == 200
    [key] = listed.json()["keys"]
    assert key["key_id"] == "sealchat-messages" and key["current_version"] == 1
    assert "versions" not in key
    described = await kms.client.get("/kms/keys/sealchat-messages", headers=kms.headers())
    assert described.status_code == 200
    assert [v["version"] for v in described.json()["versions"]] == [1]
    assert (await kms.client.get("/kms/keys/nope", headers=kms.headers())).status_code == 404
    anonymous = await kms.client.get("/kms/keys")
    assert anonymous.status_code == 401
    assert (await kms.last_audit()).operation == Operation.LIST_KEYS


async def test_healthz_needs_no_token(kms: Kms) -> None:
    response = await kms.client.get("/kms/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_key_use_is_rate_limited_per_user(tmp_path: Path) -> None:
    async with running_kms(tmp_path, kms_rate_burst=3, kms_rate_per_second=0.01) as kms:
        for _ in range(3):
            assert (await kms.generate()).status_code == 200
        limited = await kms.generate()
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert (await kms.generate(user=BOB)).status_code == 200  # others are not affected


async def test_no_key_is_used_when_the_audit_entry_cannot_be_written(kms: Kms) -> None:
    engine = create_engine(kms.settings.resolved_kms_database_url())
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE kms_audit"))
    await engine.dispose()
    response = await kms.generate()
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert "plaintext" not in response.text


async def test_the_standalone_app_serves_the_api_on_its_own_storage(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        public_url=PUBLIC_URL,
        jwks_url="http://127.0.0.1:9/.well-known/jwks.json",
        kms_grant_jwks_url="http://127.0.0.1:9/.well-known/sealchat-grant-jwks.json",
        _env_file=None,
    )
    app = create_kms_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://kms.test") as client:
            assert (await client.get("/kms/healthz")).status_code == 200
            assert (await client.get("/kms/keys")).status_code == 401
            # The identity provider is down: tokens cannot be checked, nothing is decided.
            signed = SigningKey.generate().sign({"sub": "x"})
            down = await client.get("/kms/keys", headers={"Authorization": f"Bearer {signed}"})
            assert down.status_code == 503
    assert settings.resolved_kms_root_key_file().is_file()
    assert (tmp_path / "kms" / "kms.db").is_file()
    assert not (tmp_path / "sealchat.db").exists()


def test_the_standalone_app_refuses_to_start_without_its_peers(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)
    with pytest.raises(KeyServiceConfigError) as refused:
        create_kms_app(settings)
    message = str(refused.value)
    for name in ("SEALCHAT_JWKS_URL", "SEALCHAT_KMS_GRANT_JWKS_URL"):
        assert name in message
