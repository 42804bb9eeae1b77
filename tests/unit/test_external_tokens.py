"""Tokens of an external provider (SEALCHAT_AUTH=oidc|cognito), verified as the server is
wired: OIDC discovery and a JWKS on a local HTTP server, Cognito's token_use rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from sealchat.adapters.jwt_verifier import DiscoveredJwks, HttpJwks, JwksTokenVerifier, StaticJwks
from sealchat.domain.errors import TokenExpired, Unauthorized, Unavailable
from sealchat.settings import Settings
from sealchat.token_setup import JWKS_REFETCH_SECONDS, build_token_verifier, build_user_jwks

CLIENT = "sealchat-web"


class Key:
    def __init__(self, kid: str, **jwk_extra: Any) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.jwk_extra = jwk_extra

    def jwk(self) -> dict[str, Any]:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "RS256", **self.jwk_extra}

    def sign(self, claims: dict[str, Any], alg: str = "RS256", **headers: Any) -> str:
        return jwt.encode(claims, self.private, algorithm=alg, headers={"kid": self.kid, **headers})


class Provider:
    """A minimal OIDC provider's discovery document and JWKS on loopback."""

    def __init__(self) -> None:
        self.url = ""
        self.keys: list[dict[str, Any]] = []
        self.issuer_in_document: str | None = None
        self.jwks_hits = 0

    async def discovery(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": self.issuer_in_document or self.url,
                "jwks_uri": f"{self.url}/keys",
            }
        )

    async def jwks(self, request: web.Request) -> web.Response:
        self.jwks_hits += 1
        return web.json_response({"keys": self.keys})


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    found = Provider()
    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", found.discovery)
    app.router.add_get("/keys", found.jwks)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    found.url = f"http://{host}:{port}"
    yield found
    await runner.cleanup()


@pytest.fixture
def key(provider: Provider) -> Key:
    signing = Key("k1")
    provider.keys.append(signing.jwk())
    return signing


def oidc_settings(provider: Provider, **extra: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        auth="oidc",
        oidc_issuer=provider.url,
        oidc_client_id=CLIENT,
        **extra,
    )


def oidc_verifier(provider: Provider, **extra: Any) -> JwksTokenVerifier:
    settings = oidc_settings(provider, **extra)
    jwks = build_user_jwks(settings, None)
    return build_token_verifier(settings, jwks, settings.resolved_token_audience())


def claims(provider: Provider, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": provider.url,
        "sub": "f3b1c0de-0001",
        "aud": CLIENT,
        "iat": now,
        "exp": now + 300,
        "preferred_username": "Alice.Smith",
        "email": "alice@example.com",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def test_a_valid_oidc_token_names_the_user(provider: Provider, key: Key) -> None:
    identity = await oidc_verifier(provider).verify(key.sign(claims(provider)))
    assert (identity.user_id, identity.username) == ("f3b1c0de-0001", "alice.smith")
    by_email = oidc_verifier(provider, oidc_username_claim="email")
    assert (await by_email.verify(key.sign(claims(provider)))).username == "alice-example.com"
    # No username claim at all: sub names the user.
    bare = claims(provider, preferred_username=None, email=None)
    assert (await oidc_verifier(provider).verify(key.sign(bare))).username == "f3b1c0de-0001"


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        # Times as offsets from when the test runs (not from collection, which can be
        # minutes earlier in a full run).
        ({"exp": -60}, TokenExpired, "expired"),
        ({"nbf": 120}, Unauthorized, "invalid"),
        ({"aud": "another-app"}, Unauthorized, "audience"),
        ({"iss": "https://elsewhere.example"}, Unauthorized, "another issuer"),
        ({"exp": None}, Unauthorized, "invalid"),
        ({"token_use": "refresh"}, Unauthorized, "not accepted"),
    ],
)
async def test_oidc_tokens_that_are_refused(
    provider: Provider, key: Key, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    now = int(time.time())
    resolved = {
        name: now + value if name in ("exp", "nbf") and isinstance(value, int) else value
        for name, value in overrides.items()
    }
    with pytest.raises(error, match=message):
        await oidc_verifier(provider).verify(key.sign(claims(provider, **resolved)))


async def test_small_clock_skew_is_tolerated(provider: Provider, key: Key) -> None:
    just_expired = claims(provider, exp=int(time.time()) - 3)
    assert await oidc_verifier(provider).verify(key.sign(just_expired))
    with pytest.raises(TokenExpired):
        await oidc_verifier(provider, token_clock_skew_seconds=0).verify(key.sign(just_expired))


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def test_forged_and_malicious_tokens_are_refused(provider: Provider, key: Key) -> None:
    verifier = oidc_verifier(provider)
    good = key.sign(claims(provider))
    header, payload, signature = good.split(".")
    altered = b64url(json.dumps(claims(provider, sub="someone-else")).encode())
    with pytest.raises(Unauthorized, match="invalid"):
        await verifier.verify(f"{header}.{altered}.{signature}")
    with pytest.raises(Unauthorized, match="unknown key"):
        await verifier.verify(Key("k1-impostor").sign(claims(provider)))
    with pytest.raises(Unauthorized, match="invalid"):  # same kid, another key
        await verifier.verify(Key("k1").sign(claims(provider)))
    none = jwt.encode(claims(provider), None, algorithm="none", headers={"kid": "k1"})
    with pytest.raises(Unauthorized, match="not allowed"):
        await verifier.verify(none)
    pem = key.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = b64url(json.dumps({"alg": "HS256", "kid": "k1", "typ": "JWT"}).encode())
    signing_input = f"{hs_header}.{payload}".encode()
    mac = hmac.new(pem, signing_input, hashlib.sha256).digest()
    with pytest.raises(Unauthorized, match="not allowed"):
        await verifier.verify(f"{hs_header}.{payload}.{b64url(mac)}")


async def test_the_jwk_use_and_alg_must_match(provider: Provider) -> None:
    for_encryption, other_alg = Key("enc", use="enc"), Key("rs384", alg="RS384")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = {**json.loads(ECAlgorithm.to_jwk(ec_key.public_key())), "kid": "ec"}
    provider.keys += [for_encryption.jwk(), other_alg.jwk(), ec_jwk]
    verifier = oidc_verifier(provider)
    with pytest.raises(Unauthorized, match="not meant for signing"):
        await verifier.verify(for_encryption.sign(claims(provider)))
    with pytest.raises(Unauthorized, match="does not match"):
        await verifier.verify(other_alg.sign(claims(provider)))
    rs_header_on_ec_key = Key("ec").sign(claims(provider))
    with pytest.raises(Unauthorized, match="does not match"):
        await verifier.verify(rs_header_on_ec_key)
    good_ec = jwt.encode(claims(provider), ec_key, algorithm="ES256", headers={"kid": "ec"})
    assert await verifier.verify(good_ec)


async def test_discovery_must_name_the_same_issuer(provider: Provider, key: Key) -> None:
    provider.issuer_in_document = "https://evil.example"
    with pytest.raises(Unavailable):
        await oidc_verifier(provider).verify(key.sign(claims(provider)))


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_unknown_kid_refetches_at_most_every_10_seconds(
    provider: Provider, key: Key
) -> None:
    assert JWKS_REFETCH_SECONDS == 10
    clock = Ticker()
    jwks = DiscoveredJwks(
        provider.url, lambda url: HttpJwks(url, refetch_interval=JWKS_REFETCH_SECONDS, clock=clock)
    )
    settings = oidc_settings(provider)
    verifier = build_token_verifier(settings, jwks, CLIENT)
    await verifier.verify(key.sign(claims(provider)))
    assert provider.jwks_hits == 1
    rotated = Key("k2")
    provider.keys.append(rotated.jwk())
    clock.now += 5
    for _ in range(3):  # a burst of unknown kids within 10 s: no refetch
        with pytest.raises(Unauthorized, match="unknown key"):
            await verifier.verify(rotated.sign(claims(provider)))
    assert provider.jwks_hits == 1
    clock.now += 5
    assert await verifier.verify(rotated.sign(claims(provider)))
    assert provider.jwks_hits == 2
    with pytest.raises(Unauthorized, match="unknown key"):
        await verifier.verify(Key("made-up").sign(claims(provider)))
    assert provider.jwks_hits == 2


# -- Cognito ----------------------------------------------------------------------------

POOL = "eu-west-1_Test"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"


def cognito_verifier(key: Key, **extra: Any) -> JwksTokenVerifier:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        auth="cognito",
        cognito_region="eu-west-1",
        cognito_user_pool_id=POOL,
        cognito_client_id=CLIENT,
        **extra,
    )
    jwks = StaticJwks(lambda: {"keys": [key.jwk()]})
    return build_token_verifier(settings, jwks, settings.resolved_token_audience())


def cognito_claims(use: str, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISSUER, "sub": "c0ffee", "token_use": use, "exp": now + 60}
    if use == "access":
        base |= {"client_id": CLIENT, "username": "Bob"}
    else:
        base |= {"aud": CLIENT, "cognito:username": "Bob"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


async def test_cognito_access_and_id_tokens_are_accepted() -> None:
    key = Key("cognito")
    verifier = cognito_verifier(key)
    for use in ("access", "id"):
        identity = await verifier.verify(key.sign(cognito_claims(use)))
        assert (identity.user_id, identity.username) == ("c0ffee", "bob")


@pytest.mark.parametrize(
    ("token_use", "overrides", "message"),
    [
        ("access", {"client_id": "another-app"}, "audience"),
        ("access", {"client_id": None, "aud": "another-app"}, "audience"),
        ("id", {"aud": None, "client_id": CLIENT}, "audience"),
        ("id", {"aud": "another-app"}, "audience"),
        ("access", {"token_use": None}, "token_use"),
        ("access", {"iss": f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}x"}, "issuer"),
    ],
)
async def test_cognito_tokens_that_are_refused(
    token_use: str, overrides: dict[str, Any], message: str
) -> None:
    key = Key("cognito")
    with pytest.raises(Unauthorized, match=message):
        await cognito_verifier(key).verify(key.sign(cognito_claims(token_use, **overrides)))


async def test_cognito_token_use_is_configurable() -> None:
    key = Key("cognito")
    access_only = cognito_verifier(key, cognito_token_use=["access"])
    assert await access_only.verify(key.sign(cognito_claims("access")))
    with pytest.raises(Unauthorized, match="not accepted"):
        await access_only.verify(key.sign(cognito_claims("id")))
