"""The server hands out the built web client with a strict Content-Security-Policy."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.live_server import start_server


def test_web_client_is_served_with_csp_and_spa_fallback(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(
        '<!doctype html><script type="module" src="/assets/app-1a2b.js"></script>'
    )
    (dist / "assets" / "app-1a2b.js").write_text("console.log('hi')")
    (tmp_path / "secret.txt").write_text("not for the web")
    server = start_server(tmp_path / "data", {"SEALCHAT_WEB_DIR": str(dist)})
    try:
        with httpx.Client(base_url=server.url) as http:
            index = http.get("/")
            assert index.status_code == 200 and "app-1a2b.js" in index.text
            csp = index.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
            # Images decrypted in the browser show from object URLs, and only images may.
            directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
            assert directives["img-src"] == "'self' data: blob:"
            assert "blob:" not in csp.replace(directives["img-src"], "")
            assert index.headers["x-content-type-options"] == "nosniff"
            head = http.head("/")
            assert head.status_code == 200 and head.headers["content-security-policy"] == csp

            asset = http.get("/assets/app-1a2b.js")
            assert asset.text == "console.log('hi')"
            assert "immutable" in asset.headers["cache-control"]

            deep_link = http.get("/rooms/some-room")
            assert deep_link.text == index.text  # client-side routes survive a reload

            for sneaky in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
                assert "not for the web" not in http.get(sneaky).text

            missing_api = http.get("/api/no/such/route")
            assert missing_api.status_code == 404
            assert missing_api.json()["error"]["code"] == "not_found"
            assert http.get("/healthz").json()["status"] == "ok"
    finally:
        server.stop()


def test_the_installable_app_files_are_served_with_their_types(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html>")
    (dist / "manifest.webmanifest").write_text('{"name": "Sealchat"}')
    (dist / "sw.js").write_text("self.addEventListener('fetch', () => {});")
    server = start_server(tmp_path / "data", {"SEALCHAT_WEB_DIR": str(dist)})
    try:
        with httpx.Client(base_url=server.url) as http:
            manifest = http.get("/manifest.webmanifest")
            assert manifest.headers["content-type"].startswith("application/manifest+json")
            worker = http.get("/sw.js")
            assert "javascript" in worker.headers["content-type"]
            assert worker.headers["cache-control"] == "no-cache"  # a new worker is seen at once
            csp = worker.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "script-src 'self'" in csp
    finally:
        server.stop()


def test_embedded_key_service_is_named_by_configuration_not_by_the_host_header(
    tmp_path: Path,
) -> None:
    # The web client maps a loopback alias (localhost vs 127.0.0.1) to its own origin
    # itself (keyServiceUrl in web/src/lib/chat-session.ts); the server never echoes Host.
    server = start_server(tmp_path)
    try:
        port = server.url.rsplit(":", 1)[1]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "evil.example:666"):
            config = httpx.get(f"{server.url}/api/config", headers={"Host": host}).json()
            assert config["kms_url"] == f"http://127.0.0.1:{port}/kms"
    finally:
        server.stop()
