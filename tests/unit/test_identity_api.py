"""The identity provider's HTTP routes, through a FastAPI app in process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import create_async_engine

from sealchat.adapters.jwt_verifier import JwksTokenVerifier, StaticJwks
from sealchat.adapters.sql import tables
from sealchat.api.auth import AuthPolicy, address_key, build_auth_router, trusted_origins
from sealchat.api.errors import install_error_handlers
from sealchat.identity.keys import SigningKey
from sealchat.identity.passwords import PasswordHasher
from sealchat.identity.provider import BAD_CREDENTIALS, EmbeddedIdentityProvider
from sealchat.identity.store import IdentityStore
from sealchat.identity.throttle import LoginThrottle

ISSUER = "http://testserver"
PASSWORD = "correct horse battery staple"


def build_app(provider: EmbeddedIdentityProvider, policy: AuthPolicy | None = None) -> FastAPI:
    app = FastAPI()
    app.include_router(build_auth_router(provider, policy))
    install_error_handlers(app)
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
        assert failed.json()["error"]["message"] == BAD_CREDENTIALS
    # Locked now: answered exactly as an unknown username is (issue #16 item 10).
    locked = await client.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    unknown = await client.post("/api/auth/login", json={"username": "nobody", "password": "x"})
    for answer in (locked, unknown):
        assert answer.status_code == 401 and "retry-after" not in answer.headers
        assert answer.json() == {"error": {"code": "unauthorized", "message": BAD_CREDENTIALS}}


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


def app_client(
    provider: EmbeddedIdentityProvider,
    policy: AuthPolicy | None = None,
    *,
    address: str = "192.0.2.1",
    base_url: str = ISSUER,
) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=build_app(provider, policy), client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


@pytest.mark.parametrize("path", ["/api/auth/refresh", "/api/auth/logout"])
async def test_cookie_routes_refuse_form_posts_and_empty_bodies(
    client: httpx.AsyncClient, path: str
) -> None:
    """Issue #16 item 9: a cross-site HTML form could post to refresh and logout."""
    registered = await client.post(
        "/api/auth/register", json={"username": "alice", "password": PASSWORD, "session": "cookie"}
    )
    assert registered.status_code == 201
    form = await client.post(path, data={"x": "1"})
    assert form.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    text = await client.post(path, content=b"{}", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    empty = await client.post(path)
    assert empty.status_code == 415
    # The cookie was not spent by any of them.
    assert (await client.post("/api/auth/refresh", json={})).status_code == 200


async def test_other_origins_are_refused_on_the_auth_routes(
    provider: EmbeddedIdentityProvider,
) -> None:
    policy = AuthPolicy(trusted_origins=trusted_origins("https://chat.example", ["https://app.x"]))
    async with app_client(provider, policy) as http:
        signup = {"username": "alice", "password": PASSWORD, "session": "cookie"}
        evil = {"Origin": "https://evil.example"}
        refused = await http.post("/api/auth/register", json=signup, headers=evil)
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
        assert (await http.post("/api/auth/register", json=signup)).status_code == 201
        for headers in (
            evil,
            {"Origin": "null"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Origin": "http://chat.example"},  # the scheme is part of the origin
        ):
            for path in ("/api/auth/refresh", "/api/auth/logout"):
                assert (await http.post(path, json={}, headers=headers)).status_code == 403
        for origin in ("https://chat.example", "https://app.x", ISSUER):  # ISSUER: its own host
            answer = await http.post("/api/auth/refresh", json={}, headers={"Origin": origin})
            assert answer.status_code == 200, origin
        assert (await http.post("/api/auth/refresh", json={})).status_code == 200  # no Origin


async def test_refresh_cookie_is_secure_when_the_public_url_is_https(
    provider: EmbeddedIdentityProvider,
) -> None:
    """Issue #16 item 7: behind a TLS proxy the request arrives over http."""
    signup = {"username": "alice", "password": PASSWORD, "session": "cookie"}
    async with app_client(provider, AuthPolicy(secure_cookies=True)) as http:
        answer = await http.post("/api/auth/register", json=signup)
        assert answer.status_code == 201
        assert "secure" in answer.headers["set-cookie"].lower()
    async with app_client(provider, AuthPolicy(secure_cookies=False)) as http:
        answer = await http.post("/api/auth/login", json=signup)
        assert "secure" not in answer.headers["set-cookie"].lower()


async def test_sign_ins_are_limited_per_address_before_hashing(
    provider: EmbeddedIdentityProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue #16 item 5: unknown-user sign-ins cost an argon2 verify each."""
    hashed: list[str] = []
    real_spend = provider._hasher.spend_verify

    async def counting(password: str) -> None:
        hashed.append(password)
        await real_spend(password)

    monkeypatch.setattr(provider._hasher, "spend_verify", counting)
    policy = AuthPolicy(rate_per_minute=6, rate_burst=3)
    guess = {"username": "nobody", "password": "guess"}
    async with app_client(provider, policy, address="198.51.100.7") as attacker:
        answers = [await attacker.post("/api/auth/login", json=guess) for _ in range(6)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert answers[-1].json()["error"]["code"] == "rate_limited"
    assert len(hashed) == 3  # the refused ones cost no hash
    async with app_client(provider, policy, address="203.0.113.9") as someone_else:
        signup = {"username": "alice", "password": PASSWORD}
        assert (await someone_else.post("/api/auth/register", json=signup)).status_code == 201


def test_ipv6_clients_share_a_bucket_per_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:192.0.2.7") == "192.0.2.7" == address_key("192.0.2.7")
    assert address_key("testclient") == "testclient"
