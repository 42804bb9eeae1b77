"""Access-token verification against a JWKS: what is accepted and every way it refuses."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from sealchat.adapters.jwt_verifier import HttpJwks, JwksTokenVerifier, StaticJwks
from sealchat.domain.errors import TokenExpired, Unauthorized, Unavailable
from sealchat.identity.keys import SigningKey

ISSUER = "https://issuer.test"
AUDIENCE = "sealchat"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "sub": "user-1",
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        "jti": "j-1",
        "username": "alice",
        "token_use": "access",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: SigningKey, headers: dict[str, Any] | None = None, **overrides: Any) -> str:
    return jwt.encode(
        claims(**overrides),
        key.private_key,
        algorithm="EdDSA",
        headers={"kid": key.kid, "typ": "JWT", **(headers or {})},
    )


def hmac_sha256(secret: bytes, data: bytes) -> bytes:
    return hmac.new(secret, data, hashlib.sha256).digest()


def hand_made(header: dict[str, Any], signature: Callable[[bytes], bytes]) -> str:
    """A token built without PyJWT, which refuses to produce the malicious ones."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims()).encode())}"
    return f"{signing_input}.{b64url(signature(signing_input.encode()))}"


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.generate()


def verifier_for(jwks: dict[str, Any], **kwargs: Any) -> JwksTokenVerifier:
    return JwksTokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=StaticJwks(lambda: jwks), **kwargs
    )


@pytest.fixture
def verifier(key: SigningKey) -> JwksTokenVerifier:
    return verifier_for({"keys": [key.jwk()]})


async def test_a_valid_token_gives_the_identity(
    key: SigningKey, verifier: JwksTokenVerifier
) -> None:
    exp = int(time.time()) + 300
    identity = await verifier.verify(sign(key, exp=exp))
    assert (identity.user_id, identity.username, identity.expires_at) == ("user-1", "alice", exp)


@pytest.mark.parametrize("claim", ["cognito:username", "preferred_username"])
async def test_username_falls_back_to_other_claims(key: SigningKey, claim: str) -> None:
    overrides: dict[str, Any] = {"username": None, claim: "bob"}
    token = sign(key, **overrides)
    assert (await verifier_for({"keys": [key.jwk()]}).verify(token)).username == "bob"


async def test_token_without_token_use_is_accepted(
    key: SigningKey, verifier: JwksTokenVerifier
) -> None:
    assert (await verifier.verify(sign(key, token_use=None))).user_id == "user-1"


async def test_audience_may_be_a_list(key: SigningKey, verifier: JwksTokenVerifier) -> None:
    assert await verifier.verify(sign(key, aud=["other", AUDIENCE]))


async def test_expired_token_raises_token_expired(
    key: SigningKey, verifier: JwksTokenVerifier
) -> None:
    now = int(time.time())
    with pytest.raises(TokenExpired, match="access token expired"):
        await verifier.verify(sign(key, iat=now - 120, exp=now - 6))


async def test_leeway_tolerates_small_clock_skew(
    key: SigningKey, verifier: JwksTokenVerifier
) -> None:
    assert await verifier.verify(sign(key, exp=int(time.time()) - 2))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aud": "another-app"}, "audience"),
        ({"aud": None}, "audience"),
        ({"iss": "https://evil.test"}, "issuer"),
        ({"token_use": "id"}, "not an access token"),
        ({"sub": None}, "invalid"),
        ({"exp": None}, "invalid"),
        ({"iat": None}, "invalid"),
        ({"iat": int(time.time()) + 3600}, "invalid"),  # issued in the future
        ({"username": None}, "username"),
    ],
)
async def test_bad_claims_are_refused(
    key: SigningKey, verifier: JwksTokenVerifier, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(Unauthorized, match=message) as caught:
        await verifier.verify(sign(key, **overrides))
    assert not isinstance(caught.value, TokenExpired)


async def test_forged_signature_with_the_same_kid_is_refused(
    key: SigningKey, verifier: JwksTokenVerifier
) -> None:
    forger = SigningKey.generate()
    token = jwt.encode(claims(), forger.private_key, algorithm="EdDSA", headers={"kid": key.kid})
    with pytest.raises(Unauthorized, match="invalid access token"):
        await verifier.verify(token)


async def test_alg_none_is_refused(key: SigningKey, verifier: JwksTokenVerifier) -> None:
    token = hand_made({"alg": "none", "kid": key.kid, "typ": "JWT"}, lambda _: b"")
    with pytest.raises(Unauthorized, match="algorithm is not allowed"):
        await verifier.verify(token)


async def test_hmac_signed_with_the_public_key_is_refused(
    key: SigningKey, verifier: JwksTokenVerifier
) -> None:
    public_key = key.private_key.public_key()
    for secret in (
        public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        key.jwk()["x"].encode(),
    ):
        token = hand_made(
            {"alg": "HS256", "kid": key.kid, "typ": "JWT"},
            functools.partial(hmac_sha256, secret),
        )
        with pytest.raises(Unauthorized, match="algorithm is not allowed"):
            await verifier.verify(token)


async def test_missing_and_unknown_kid_are_refused(
    key: SigningKey, verifier: JwksTokenVerifier
) -> None:
    no_kid = jwt.encode(claims(), key.private_key, algorithm="EdDSA")
    with pytest.raises(Unauthorized, match="no key id"):
        await verifier.verify(no_kid)
    with pytest.raises(Unauthorized, match="unknown key"):
        await verifier.verify(sign(key, headers={"kid": "someone-else"}))


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 5000])
async def test_malformed_tokens_are_refused(verifier: JwksTokenVerifier, token: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        await verifier.verify(token)
    assert token not in caught.value.message or not token


def rsa_jwks(kid: str = "rsa-1") -> tuple[rsa.RSAPrivateKey, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    jwk.update(kid=kid, alg="RS256", use="sig")
    return private, {"keys": [jwk]}


async def test_a_cognito_style_rs256_access_token_is_accepted() -> None:
    private, jwks = rsa_jwks()
    # Cognito access tokens name the app client in client_id and carry no aud.
    cognito_claims = claims(aud=None, client_id=AUDIENCE, **{"cognito:groups": ["staff"]})
    token = jwt.encode(cognito_claims, private, algorithm="RS256", headers={"kid": "rsa-1"})
    identity = await verifier_for(jwks).verify(token)
    assert (identity.user_id, identity.username) == ("user-1", "alice")

    wrong_client = jwt.encode(
        claims(aud=None, client_id="other"), private, algorithm="RS256", headers={"kid": "rsa-1"}
    )
    with pytest.raises(Unauthorized, match="audience"):
        await verifier_for(jwks).verify(wrong_client)
    with pytest.raises(Unauthorized, match="algorithm is not allowed"):
        await verifier_for(jwks, algorithms=["EdDSA"]).verify(token)


async def test_algorithm_must_match_the_key(key: SigningKey) -> None:
    _, jwks = rsa_jwks(kid=key.kid)  # an RSA key under the kid of the Ed25519 key
    token = sign(key)  # EdDSA header
    with pytest.raises(Unauthorized, match="does not match its key"):
        await verifier_for(jwks).verify(token)

    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_jwk = ECAlgorithm.to_jwk(ec_key.public_key(), as_dict=True)
    ec_jwk.update(kid="ec-1", alg="ES384")  # the key says ES384, the token ES256
    token = jwt.encode(claims(), ec_key, algorithm="ES256", headers={"kid": "ec-1"})
    verifier = verifier_for({"keys": [ec_jwk]}, algorithms=["ES256"])
    with pytest.raises(Unauthorized, match="does not match its key"):
        await verifier.verify(token)


async def test_encryption_keys_are_not_signing_keys(key: SigningKey) -> None:
    jwk = {**key.jwk(), "use": "enc"}
    with pytest.raises(Unauthorized, match="not meant for signing"):
        await verifier_for({"keys": [jwk]}).verify(sign(key))


@pytest.mark.parametrize(
    "algorithms", [["none"], ["EdDSA", "HS256"], ["hs512"], ["NONE"], [], ["XX999"]]
)
def test_refuses_to_accept_unsafe_algorithm_lists(algorithms: list[str]) -> None:
    with pytest.raises(ValueError):
        verifier_for({"keys": []}, algorithms=algorithms)


# -- HttpJwks against a real HTTP server ----------------------------------------------


class JwksServer:
    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.status = 200
        self.hits = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.status != 200:
            return web.Response(status=self.status, text="down")
        return web.json_response(self.jwks)


@pytest.fixture
async def server(key: SigningKey) -> AsyncIterator[JwksServer]:
    jwks_server = JwksServer({"keys": [key.jwk()]})
    app = web.Application()
    app.router.add_get("/.well-known/jwks.json", jwks_server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    jwks_server.url = f"http://{host}:{port}/.well-known/jwks.json"
    yield jwks_server
    await runner.cleanup()


class Ticker:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def http_verifier(url: str, clock: Ticker, **kwargs: Any) -> JwksTokenVerifier:
    return JwksTokenVerifier(
        issuer=ISSUER, audience=AUDIENCE, jwks=HttpJwks(url, clock=clock, **kwargs)
    )


async def test_http_jwks_fetches_once_and_caches(key: SigningKey, server: JwksServer) -> None:
    clock = Ticker()
    verifier = http_verifier(server.url, clock, ttl=300)
    for _ in range(3):
        assert (await verifier.verify(sign(key))).username == "alice"
    assert server.hits == 1
    clock.now += 300
    await verifier.verify(sign(key))
    assert server.hits == 2


async def test_http_jwks_concurrent_cold_start_fetches_once(
    key: SigningKey, server: JwksServer
) -> None:
    verifier = http_verifier(server.url, Ticker())
    await asyncio.gather(*(verifier.verify(sign(key)) for _ in range(5)))
    assert server.hits == 1


async def test_http_jwks_refetches_on_unknown_kid_at_most_every_30_seconds(
    key: SigningKey, server: JwksServer
) -> None:
    clock = Ticker()
    async with httpx.AsyncClient() as http_client:
        verifier = http_verifier(server.url, clock, http_client=http_client)
        await verifier.verify(sign(key))
        rotated = SigningKey.generate()
        server.jwks = {"keys": [key.jwk(), rotated.jwk()]}

        clock.now += 10  # too soon after the last fetch: no refetch
        with pytest.raises(Unauthorized, match="unknown key"):
            await verifier.verify(sign(rotated))
        assert server.hits == 1

        clock.now += 20
        assert (await verifier.verify(sign(rotated))).username == "alice"
        assert server.hits == 2
        with pytest.raises(Unauthorized, match="unknown key"):
            await verifier.verify(sign(key, headers={"kid": "made-up"}))
        assert server.hits == 2


async def test_http_jwks_server_errors_are_unavailable(key: SigningKey, server: JwksServer) -> None:
    clock = Ticker()
    server.status = 500
    verifier = http_verifier(server.url, clock, retry_interval=5)
    for _ in range(2):
        with pytest.raises(Unavailable):
            await verifier.verify(sign(key))
    assert server.hits == 1  # the second caller failed fast instead of retrying
    server.status = 200
    clock.now += 5
    assert await verifier.verify(sign(key))


async def test_http_jwks_invalid_document_is_unavailable(
    key: SigningKey, server: JwksServer
) -> None:
    server.jwks = {"not": "a jwks"}
    with pytest.raises(Unavailable, match="invalid JWKS"):
        await http_verifier(server.url, Ticker()).verify(sign(key))


async def test_http_jwks_closed_port_is_unavailable(key: SigningKey) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/.well-known/jwks.json"
    with pytest.raises(Unavailable, match="unavailable"):
        await http_verifier(url, Ticker()).verify(sign(key))
