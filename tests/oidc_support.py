"""A minimal OpenID provider on loopback for Python-client tests: discovery, JWKS and a token
endpoint with the password and refresh grants, RS256 tokens (aud: the client id).

Not a certified provider (the browser tests use ``oidc-provider``); enough to drive the
server's OIDC mode and the Python client's ``OidcPasswordAuthenticator``.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

CLIENT_ID = "sealchat-cli"


@dataclass
class OidcProvider:
    issuer: str = ""
    passwords: dict[str, str] = field(default_factory=dict)
    subjects: dict[str, str] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    key: Any = field(default_factory=lambda: rsa.generate_private_key(65537, 2048))
    token_ttl: int = 300
    audience: str = CLIENT_ID

    def add_user(self, username: str, password: str) -> None:
        self.passwords[username] = password
        self.subjects[username] = str(uuid.uuid4())

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}

    def token(self, username: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": self.subjects[username],
            "aud": self.audience,
            "iat": now,
            "exp": now + self.token_ttl,
            "preferred_username": username,
            "scope": "openid profile",
            **overrides,
        }
        return jwt.encode(claims, self.key, algorithm="RS256", headers={"kid": "k1"})

    def grant(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") == "password":
            username = form.get("username", "")
            if self.passwords.get(username) != form.get("password"):
                return 400, {"error": "invalid_grant", "error_description": "bad credentials"}
        elif form.get("grant_type") == "refresh_token":
            found = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if found is None:
                return 400, {"error": "invalid_grant"}
            username = found
        else:
            return 400, {"error": "unsupported_grant_type"}
        refresh = secrets.token_urlsafe(16)
        self.refresh_tokens[refresh] = username
        return 200, {
            "access_token": self.token(username),
            "id_token": self.token(username),
            "refresh_token": refresh,
            "token_type": "Bearer",
            "expires_in": self.token_ttl,
        }


def _handler(provider: OidcProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/.well-known/openid-configuration":
                self._reply(
                    200,
                    {
                        "issuer": provider.issuer,
                        "jwks_uri": f"{provider.issuer}/jwks",
                        "token_endpoint": f"{provider.issuer}/token",
                    },
                )
            elif self.path == "/jwks":
                self._reply(200, provider.jwks())
            else:
                self._reply(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            self._reply(*provider.grant(form) if self.path == "/token" else (404, {}))

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


def running_provider() -> Iterator[OidcProvider]:
    """For a fixture: ``yield from running_provider()``."""
    provider = OidcProvider()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
    provider.issuer = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield provider
    finally:
        httpd.shutdown()
        httpd.server_close()
