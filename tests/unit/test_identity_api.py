"""The identity provider's HTTP routes, through a FastAPI app in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import create_async_engine

from sealchat.adapters.jwt_verifier import JwksTokenVerifier, StaticJwks
from sealchat.adapters.sql import tables
from sealchat.api.auth import build_auth_router
from sealchat.domain.errors import RateLimited, SealchatError
from sealchat.identity.keys import SigningKey
from sealchat.identity.passwords import PasswordHasher
from sealchat.identity.provider import EmbeddedIdentityProvider
from sealchat.identity.store import IdentityStore
from sealchat.identity.throttle import LoginThrottle

ISSUER = "http://testserver"
PASSWORD = "correct horse battery staple"
STATUS = {"invalid_input": 400, "unauthorized": 401, "conflict": 409, "rate_limited": 429}


def build_app(provider: EmbeddedIdentityProvider) -> FastAPI:
    app = FastAPI()
    app.include_router(build_auth_router(provider))

    async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, SealchatError)
        headers = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, RateLimited) else {}
        body = {"error": {"code": exc.code, "message": exc.message}}
        return JSONResponse(body, status_code=STATUS.get(exc.code, 500), headers=headers)

    app.add_exception_handler(SealchatError, on_domain_error)
    return app


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[EmbeddedIdentityProvider]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'idp.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(tables.metadata.create_all)
    yield EmbeddedIdentityProvider(
        store=IdentityStore(engine),
        signing_key=SigningKey.generate(),
        hasher=PasswordHasher(time_cost=1, memory_kib=8, parallelism=1),
        throttle=LoginThrottle(max_failures=2, lockout=timedelta(seconds=60)),
        issuer=ISSUER,
        audience="sealchat",
        access_token_ttl=timedelta(minutes=15),
        refresh_token_ttl=timedelta(days=1),
    )
    await engine.dispose()


@pytest.fixture
async def client(provider: EmbeddedIdentityProvider) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(provider))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


async def register(client: httpx.AsyncClient, username: str = "alice") -> httpx.Response:
    return await client.post(
        "/api/auth/register", json={"username": username, "password": PASSWORD}
    )


async def test_register_login_refresh_logout(
    client: httpx.AsyncClient, provider: EmbeddedIdentityProvider
) -> None:
    registered = await register(client, "Alice")
    assert registered.status_code == 201
    body = registered.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["user"]["username"] == "alice"
    assert registered.headers["cache-control"] == "no-store"
    verifier = JwksTokenVerifier(issuer=ISSUER, audience="sealchat", jwks=StaticJwks(provider.jwks))
    assert (await verifier.verify(body["access_token"])).user_id == body["user"]["id"]

    login = await client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert login.status_code == 200
    assert login.json()["user"] == body["user"]
    assert login.headers["cache-control"] == "no-store"

    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": body["refresh_token"]}
    )
    assert refreshed.status_code == 200
    assert refreshed.headers["cache-control"] == "no-store"
    new_refresh_token = refreshed.json()["refresh_token"]

    logout = await client.post("/api/auth/logout", json={"refresh_token": new_refresh_token})
    assert logout.status_code == 204
    assert logout.content == b""
    again = await client.post("/api/auth/refresh", json={"refresh_token": new_refresh_token})
    assert again.status_code == 401
    assert again.json()["error"]["code"] == "unauthorized"


async def test_errors_are_domain_errors(client: httpx.AsyncClient) -> None:
    await register(client)
    duplicate = await register(client)
    assert duplicate.status_code == 409
    assert duplicate.json() == {"error": {"code": "conflict", "message": "username is taken"}}
    short = await client.post("/api/auth/register", json={"username": "bob", "password": "short"})
    assert short.json()["error"]["code"] == "invalid_input"

    wrong = {"username": "alice", "password": "wrong password"}
    for _ in range(2):
        failed = await client.post("/api/auth/login", json=wrong)
        assert failed.status_code == 401
        assert failed.json()["error"]["message"] == "invalid username or password"
    locked = await client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == "60"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/register", {"username": "a" * 65, "password": PASSWORD}),
        ("/api/auth/login", {"username": "alice", "password": "p" * 1025}),
        ("/api/auth/login", {"username": "alice"}),
        ("/api/auth/refresh", {"refresh_token": "t" * 257}),
        ("/api/auth/logout", {"refresh_token": ""}),
    ],
)
async def test_oversized_or_missing_fields_are_rejected(
    client: httpx.AsyncClient, path: str, body: dict[str, str]
) -> None:
    assert (await client.post(path, json=body)).status_code == 422


async def test_discovery_routes(
    client: httpx.AsyncClient, provider: EmbeddedIdentityProvider
) -> None:
    config = await client.get("/.well-known/openid-configuration")
    assert config.status_code == 200
    assert config.json()["issuer"] == ISSUER
    assert config.json()["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    jwks = await client.get("/.well-known/jwks.json")
    assert jwks.json() == provider.jwks()
    assert "max-age" in jwks.headers["cache-control"]
