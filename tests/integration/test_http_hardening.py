"""HTTP and sign-in hardening against a live ``sealchat serve`` (issue #16 items 5-7, 9, 10,
13, 14): each test names the hole it closes."""

from __future__ import annotations

import asyncio
import logging
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sealchat.client import SealchatClient
from tests.integration.conftest import PASSWORD, unique_name
from tests.live_server import LiveServer, free_port, start_server

PUBLIC_URL = "https://chat.example"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def behind_proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Deployed behind a TLS proxy at https://chat.example, the proxy not declared."""
    live = start_server(tmp_path_factory.mktemp("public"), {"SEALCHAT_PUBLIC_URL": PUBLIC_URL})
    yield live
    live.stop()


async def test_config_names_the_key_service_from_configuration_only(
    behind_proxy: LiveServer,
) -> None:
    """Item 6: ``Host: evil.example:666`` made /api/config send clients' key-service
    tokens and grants to http://evil.example:666/kms."""
    async with httpx.AsyncClient(base_url=behind_proxy.url) as http:
        for headers in (
            {"Host": "evil.example:666"},
            {"Host": "evil.example", "X-Forwarded-Proto": "http", "X-Forwarded-Host": "evil"},
            {},
        ):
            answer = await http.get("/api/config", headers=headers)
            assert answer.status_code == 200
            assert answer.json()["kms_url"] == f"{PUBLIC_URL}/kms"
            assert answer.headers["cache-control"] == "no-store"


async def test_refresh_cookie_is_secure_with_an_https_public_url(behind_proxy: LiveServer) -> None:
    """Item 7: the proxy speaks http to the server, so the request's scheme is http."""
    async with httpx.AsyncClient(base_url=behind_proxy.url) as http:
        signed_up = await http.post(
            "/api/auth/register",
            json={"username": unique_name(), "password": PASSWORD, "session": "cookie"},
            headers={"X-Forwarded-Proto": "https"},
        )
    assert signed_up.status_code == 201
    cookie = signed_up.headers["set-cookie"].lower()
    assert cookie.startswith("sealchat_refresh=") and "; secure" in cookie


async def test_cookie_routes_refuse_forms_and_other_origins(behind_proxy: LiveServer) -> None:
    """Item 9: refresh and logout took form posts with no body, relying on SameSite."""
    async with httpx.AsyncClient(base_url=behind_proxy.url) as http:
        signed_up = await http.post(
            "/api/auth/register",
            json={"username": unique_name(), "password": PASSWORD, "session": "cookie"},
        )
        http.cookies.set(
            "sealchat_refresh", signed_up.cookies["sealchat_refresh"], path="/api/auth"
        )
        for path in ("/api/auth/refresh", "/api/auth/logout"):
            form = await http.post(path, data={"a": "b"})
            assert form.status_code == 415, path
            assert form.json()["error"]["code"] == "unsupported_media_type"
            assert (await http.post(path)).status_code == 415
            cross = await http.post(path, json={}, headers={"Origin": "https://evil.example"})
            assert cross.status_code == 403 and cross.json()["error"]["code"] == "forbidden"
            fetch_meta = await http.post(path, json={}, headers={"Sec-Fetch-Site": "cross-site"})
            assert fetch_meta.status_code == 403
        # None of them spent or revoked the session; the public origin is welcome.
        ok = await http.post("/api/auth/refresh", json={}, headers={"Origin": PUBLIC_URL})
        assert ok.status_code == 200


async def test_a_locked_account_answers_like_an_unknown_one(behind_proxy: LiveServer) -> None:
    """Item 10: a locked real account answered 429, an unknown username 401."""
    real, unknown = unique_name("real"), unique_name("ghost")
    async with httpx.AsyncClient(base_url=behind_proxy.url) as http:
        await http.post("/api/auth/register", json={"username": real, "password": PASSWORD})
        answers: dict[str, list[tuple[int, object, str | None]]] = {real: [], unknown: []}
        for username in answers:
            for _ in range(7):  # five failures lock the real account
                failed = await http.post(
                    "/api/auth/login", json={"username": username, "password": "wrong guess"}
                )
                answers[username].append(
                    (failed.status_code, failed.json(), failed.headers.get("retry-after"))
                )
        assert answers[real] == answers[unknown]
        assert {status for status, _, _ in answers[real]} == {401}
        # Locked indeed: the right password is refused too, in the same words.
        locked = await http.post("/api/auth/login", json={"username": real, "password": PASSWORD})
        assert (locked.status_code, locked.json()) == answers[unknown][0][:2]


async def test_responses_carry_a_csp_and_the_api_docs_are_off(behind_proxy: LiveServer) -> None:
    """Item 13: /docs loaded Swagger UI from a CDN with no integrity and no CSP."""
    async with httpx.AsyncClient(base_url=behind_proxy.url) as http:
        for path in ("/docs", "/openapi.json"):
            assert (await http.get(path)).status_code == 404, path
        assert "redoc" not in (await http.get("/redoc")).text.lower()
        for path in ("/api/config", "/healthz", "/api/no/such/route", "/.well-known/jwks.json"):
            answer = await http.get(path)
            assert answer.headers["content-security-policy"].startswith("default-src 'none'")
            assert answer.headers["x-content-type-options"] == "nosniff"
        page = await http.get("/")
        assert "script-src 'self'" in page.headers["content-security-policy"]


def test_api_docs_behind_a_setting_load_only_pinned_checked_assets(tmp_path: Path) -> None:
    server = start_server(tmp_path, {"SEALCHAT_API_DOCS": "true"})
    try:
        docs = httpx.get(f"{server.url}/docs")
        assert docs.status_code == 200
        csp = docs.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "'sha256-" in csp and "unsafe-eval" not in csp
        assert 'integrity="sha384-' in docs.text and "swagger-ui-dist@5." in docs.text
        assert "swagger-ui-dist@5/" not in docs.text  # a pinned release, not "latest 5"
        assert httpx.get(f"{server.url}/openapi.json").json()["info"]["title"] == "Sealchat"
    finally:
        server.stop()


async def test_sign_in_floods_are_refused_per_address_before_hashing(tmp_path: Path) -> None:
    """Item 5: 60 concurrent sign-ins for unknown users slowed a real sign-in 20-fold.

    With a trusted proxy (SEALCHAT_FORWARDED_ALLOW_IPS) the client address comes from
    X-Forwarded-For, so the flood and the real user are told apart.
    """
    server = start_server(
        tmp_path,
        {
            "SEALCHAT_FORWARDED_ALLOW_IPS": "127.0.0.1",
            "SEALCHAT_AUTH_RATE_PER_MINUTE": "20",
            "SEALCHAT_AUTH_RATE_BURST": "10",
            "SEALCHAT_PASSWORD_HASH_QUEUE": "16",
            # A production-like cost, so that queued hashes would show.
            "SEALCHAT_ARGON2_TIME_COST": "2",
            "SEALCHAT_ARGON2_MEMORY_KIB": "32768",
        },
    )
    try:
        user = unique_name()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            real = {"X-Forwarded-For": "203.0.113.7"}
            body = {"username": user, "password": PASSWORD}
            assert (
                await http.post("/api/auth/register", json=body, headers=real)
            ).status_code == 201

            attacker = {"X-Forwarded-For": "198.51.100.66"}
            flood = await asyncio.gather(
                *(
                    http.post(
                        "/api/auth/login",
                        json={"username": f"ghost{i}", "password": "guess"},
                        headers=attacker,
                    )
                    for i in range(60)
                )
            )
            statuses = [answer.status_code for answer in flood]
            assert set(statuses) <= {401, 429, 503}
            assert statuses.count(429) >= 50
            assert all(
                int(answer.headers["retry-after"]) >= 1
                for answer in flood
                if answer.status_code in (429, 503)
            )
            started = time.monotonic()
            signed_in = await http.post("/api/auth/login", json=body, headers=real)
            assert signed_in.status_code == 200
            # Loose (shared CI machines): the refusals above are the real check.
            assert time.monotonic() - started < 5.0
    finally:
        server.stop()


async def test_forwarded_headers_are_ignored_unless_the_proxy_is_trusted(tmp_path: Path) -> None:
    limits = {"SEALCHAT_AUTH_RATE_PER_MINUTE": "1", "SEALCHAT_AUTH_RATE_BURST": "3"}
    server = start_server(tmp_path, limits)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            statuses = [
                (
                    await http.post(
                        "/api/auth/login",
                        json={"username": "ghost", "password": "guess"},
                        headers={"X-Forwarded-For": f"10.0.0.{i}", "X-Forwarded-Proto": "https"},
                    )
                ).status_code
                for i in range(5)
            ]
            assert statuses == [401, 401, 401, 429, 429]
    finally:
        server.stop()


async def test_database_and_keys_are_private_files(tmp_path: Path) -> None:
    """Item 14: sealchat.db (password hashes) was created 0644; a signing key readable
    by others only warned."""
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        async with httpx.AsyncClient(base_url=server.url) as http:
            answer = await http.post(
                "/api/auth/register", json={"username": unique_name(), "password": PASSWORD}
            )
            assert answer.status_code == 201
        database = data_dir / "sealchat.db"
        written = [database, *(data_dir / f"sealchat.db{s}" for s in ("-wal", "-shm"))]
        for path in [p for p in written if p.exists()] + [data_dir / "kms" / "kms.db"]:
            assert mode(path) == 0o600, path
        assert (data_dir / "sealchat.db-wal").exists()
    finally:
        server.stop()

    key = data_dir / "identity" / "signing-key.pem"
    os.chmod(key, 0o644)
    with pytest.raises(RuntimeError, match="accessible to other users"):
        start_server(data_dir).stop()
    os.chmod(key, 0o600)
    grant_key = data_dir / "grants" / "signing-key.pem"
    os.chmod(grant_key, 0o640)
    with pytest.raises(RuntimeError, match="accessible to other users"):
        start_server(data_dir).stop()
    os.chmod(grant_key, 0o600)
    start_server(data_dir).stop()


async def test_a_pinned_key_service_url_wins_over_the_advertised_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item 6: the Python client sent its key-service token and grants to whatever URL
    /api/config named. Pinned (a setting, or SEALCHAT_CLIENT_KMS_URL), it keeps to its
    pin and warns that the advertised URL differs."""
    advertised = "http://127.0.0.1:9/kms"  # where nobody should send tokens
    server = start_server(tmp_path, {"SEALCHAT_KMS_URL": advertised})
    try:
        pin = f"{server.url}/kms"
        by_argument = SealchatClient(server.url, kms_url=pin)
        monkeypatch.setenv("SEALCHAT_CLIENT_KMS_URL", pin)
        by_environment = SealchatClient(server.url)
        for client in (by_argument, by_environment):
            async with client:
                await client.register(unique_name(), PASSWORD)
                room = await client.create_room(unique_name("pinned"))
                await client.connect()
                caplog.clear()
                with caplog.at_level(logging.WARNING, logger="sealchat.client.client"):
                    sent = await client.send_text(room["id"], "sealed to the pinned service")
                assert f"advertises the key service at {advertised}" in caplog.text
                opened = await client.open(sent)
                assert opened.ok and opened.content is not None
                assert opened.content["text"] == "sealed to the pinned service"
    finally:
        server.stop()


def test_the_standalone_key_service_has_no_docs_and_sends_a_csp(tmp_path: Path) -> None:
    """Item 13 for ``sealchat kms serve`` too (its answers never need a page)."""
    chat_port, kms_port = free_port(), free_port()
    chat_url = f"http://127.0.0.1:{chat_port}"
    chat = start_server(
        tmp_path / "chat",
        {"SEALCHAT_KMS_EMBEDDED": "false", "SEALCHAT_KMS_URL": f"http://127.0.0.1:{kms_port}/kms"},
        port=chat_port,
    )
    try:
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
        try:
            for path in ("/docs", "/openapi.json"):
                assert httpx.get(f"{kms.url}{path}").status_code == 404
            health = httpx.get(f"{kms.url}/kms/healthz")
            assert health.headers["content-security-policy"].startswith("default-src 'none'")
            assert (kms.data_dir / "kms" / "kms.db").exists()
            assert mode(kms.data_dir / "kms" / "kms.db") == 0o600
        finally:
            kms.stop()
    finally:
        chat.stop()
