"""Sign-in through a real OpenID provider on loopback (oidc-provider, tests/node): the
authorization-code flow with PKCE in the browser, then sealed chat with the embedded key
service; and the chat server refusing that provider's tokens when they are expired, for
another audience or issuer, signed by an unknown key, with alg none or HS256, or altered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from playwright.async_api import expect

from tests.browser.chat_page import ChatPage, unique_name
from tests.live_server import LiveServer, free_port, start_server

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
CLIENT_ID = "sealchat-web"


@dataclass
class OidcProvider:
    issuer: str
    private_jwk: dict[str, Any]
    process: subprocess.Popen[str]


@dataclass
class OidcSetup:
    provider: OidcProvider
    server: LiveServer


@pytest.fixture(scope="module")
def oidc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcSetup]:
    if shutil.which("node") is None or not (NODE_DIR / "node_modules" / "oidc-provider").exists():
        pytest.fail("node and tests/node's packages are needed (cd tests/node && npm ci)")
    tmp = tmp_path_factory.mktemp("oidc")
    port = free_port()
    keys = tmp / "keys.json"
    process = subprocess.Popen(
        [
            "node",
            str(NODE_DIR / "oidc-provider.mjs"),
            "--port",
            "0",
            "--redirect",
            f"http://127.0.0.1:{port}/auth/callback",
            "--client",
            CLIENT_ID,
            "--keys",
            str(keys),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    issuer = ""
    for line in process.stdout:
        if line.startswith("READY "):
            issuer = line.split()[1]
            break
    assert issuer, "the OpenID provider did not start"
    provider = OidcProvider(issuer, json.loads(keys.read_text()), process)
    server = start_server(
        tmp / "server",
        extra_env={
            "SEALCHAT_AUTH": "oidc",
            "SEALCHAT_OIDC_ISSUER": issuer,
            "SEALCHAT_OIDC_CLIENT_ID": CLIENT_ID,
        },
        port=port,
    )
    yield OidcSetup(provider, server)
    server.stop()
    process.terminate()
    process.wait(timeout=10)
    process.stdout.close()


async def sign_in_at_provider(chat: ChatPage, issuer_host: str) -> None:
    await chat.page.get_by_role("button", name=f"Sign in with {issuer_host}").click()
    await chat.page.get_by_label("Username").fill("carol")
    await chat.page.get_by_label("Password").fill("correct horse battery")
    await chat.page.get_by_role("button", name="Continue").click()
    await expect(chat.sidebar).to_be_visible()
    chat.username = "carol"


async def test_sign_in_with_code_and_pkce_then_chat_sealed(browser: Any, oidc: OidcSetup) -> None:
    base = oidc.server.url
    chat = await ChatPage.open(browser, base)
    requests: list[str] = []
    chat.page.on("request", lambda request: requests.append(request.url))
    host = oidc.provider.issuer.removeprefix("http://")
    # The embedded form is gone: the configured provider's button instead.
    await expect(chat.page.get_by_role("button", name="Create account")).to_have_count(0)
    await sign_in_at_provider(chat, host)

    authorize = next(url for url in requests if url.startswith(f"{oidc.provider.issuer}/auth?"))
    params = httpx.URL(authorize).params
    assert params["response_type"] == "code"
    assert params["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", params["code_challenge"])
    assert params["redirect_uri"] == f"{base}/auth/callback"
    assert not re.search(r"[?&]code=", chat.page.url), "the code is removed from the URL"

    room = unique_name("oidc")
    await chat.create_room(room)
    await chat.send("hello through OIDC")
    await chat.wait_until_sent(1)
    # A reload resumes the provider session and opens the history through the key service.
    await chat.page.reload()
    await chat.open_room(room)
    await expect(chat.message("hello through OIDC")).to_be_visible()
    assert not chat.problems, chat.problems
    await chat.page.get_by_role("button", name="Sign out").click()
    # The provider's end-session page asks first (oidc-provider always does), then comes back.
    await chat.page.get_by_role("button", name="Yes, sign me out").click()
    await expect(chat.page.get_by_role("button", name=f"Sign in with {host}")).to_be_visible(
        timeout=15_000
    )


# -- the chat server refuses forged, expired and misdirected tokens -------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(_unb64(header)), json.loads(_unb64(payload))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def real_token(browser: Any, oidc: OidcSetup) -> str:
    chat = await ChatPage.open(browser, oidc.server.url)
    await sign_in_at_provider(chat, oidc.provider.issuer.removeprefix("http://"))
    stored = await chat.page.evaluate(
        "([k]) => sessionStorage.getItem(k)", [f"oidc.user:{oidc.provider.issuer}:{CLIENT_ID}"]
    )
    await chat.close()
    token = json.loads(stored)["id_token"]
    assert isinstance(token, str)
    return token


async def test_server_refuses_bad_tokens_from_the_provider(browser: Any, oidc: OidcSetup) -> None:
    token = await real_token(browser, oidc)
    header, claims = _parts(token)
    key = jwt.PyJWK(oidc.provider.private_jwk).key
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def signed(changes: dict[str, Any], *, with_key: Any = key, kid: str | None = None) -> str:
        return jwt.encode(
            {**claims, **changes},
            with_key,
            algorithm="RS256",
            headers={"kid": kid or header["kid"]},
        )

    now = int(time.time())
    # The classic confusion: HS256 with the provider's public key (PEM) as the secret.
    public_pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    hs256_header = {"alg": "HS256", "typ": "JWT", "kid": header["kid"]}
    hs256 = f"{_b64(json.dumps(hs256_header).encode())}.{_b64(json.dumps(claims).encode())}"
    hs256 += "." + _b64(hmac.new(public_pem, hs256.encode(), hashlib.sha256).digest())
    none_header = _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    none = f"{none_header}.{_b64(json.dumps(claims).encode())}."
    head, _payload, signature = token.split(".")
    forged_claims = _b64(json.dumps({**claims, "sub": "mallory"}).encode())
    altered = f"{head}.{forged_claims}.{signature}"
    variants = {
        "expired": signed({"exp": now - 600, "iat": now - 4200}),
        "another audience": signed({"aud": "another-client"}),
        "another issuer": signed({"iss": "http://127.0.0.1:1/evil"}),
        "unknown key, known kid": signed({}, with_key=stranger),
        "unknown key and kid": signed({}, with_key=stranger, kid="not-a-known-kid"),
        "alg none": none,
        "HS256 with the public key": hs256,
        "altered payload": altered,
    }
    async with httpx.AsyncClient(base_url=oidc.server.url) as client:
        ok = await client.get("/api/rooms", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200, ok.text
        # Re-signing unchanged claims with the provider's key is accepted: the variants
        # below fail for their one change, not for how they were made.
        same = await client.get("/api/rooms", headers={"Authorization": f"Bearer {signed({})}"})
        assert same.status_code == 200, same.text
        for name, variant in variants.items():
            reply = await client.get("/api/rooms", headers={"Authorization": f"Bearer {variant}"})
            assert reply.status_code == 401, (name, reply.status_code, reply.text)
