"""A local AWS stand-in for tests: moto's server (Cognito User Pools, Cognito Identity, KMS)
on a random loopback port, with a user pool, app clients, users, an identity pool and a key.

moto's server mode cannot route ``/{pool}/.well-known/jwks.json`` (it takes the path for a
host name), so the pool's public keys (the JWKS moto signs its tokens for, shipped in the
moto package) are served by a small loopback HTTP server beside it. moto's tokens carry
the real Cognito issuer, ``https://cognito-idp.{region}.amazonaws.com/{pool}``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer
from moto.utilities.utils import load_resource

REGION = "eu-west-1"
PASSWORD = "Correct-horse-battery-9"


@dataclass
class MotoAws:
    url: str
    jwks_url: str
    pool_id: str
    client_id: str
    other_client_id: str
    identity_pool_id: str
    key_arn: str
    users: list[str] = field(default_factory=list)

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.pool_id}"

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
            config=Config(retries={"max_attempts": 1}),
        )

    def add_user(self, username: str, password: str = PASSWORD) -> str:
        """An admin-created user with a permanent password (no first-sign-in challenge)."""
        idp = self.client("cognito-idp")
        idp.admin_create_user(
            UserPoolId=self.pool_id,
            Username=username,
            TemporaryPassword="Temporary-pass-1",
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=self.pool_id, Username=username, Password=password, Permanent=True
        )
        self.users.append(username)
        return username

    def server_env(self, **extra: str) -> dict[str, str]:
        """``sealchat serve`` in cognito + aws-kms mode against this stand-in."""
        return {
            "SEALCHAT_AUTH": "cognito",
            "SEALCHAT_COGNITO_REGION": REGION,
            "SEALCHAT_COGNITO_USER_POOL_ID": self.pool_id,
            "SEALCHAT_COGNITO_CLIENT_ID": self.client_id,
            "SEALCHAT_COGNITO_IDENTITY_POOL_ID": self.identity_pool_id,
            "SEALCHAT_COGNITO_IDP_ENDPOINT": self.url,
            "SEALCHAT_COGNITO_IDENTITY_ENDPOINT": self.url,
            "SEALCHAT_JWKS_URL": self.jwks_url,
            "SEALCHAT_KEY_SERVICE": "aws-kms",
            "SEALCHAT_AWS_KMS_KEY_ID": self.key_arn,
            "SEALCHAT_AWS_KMS_ENDPOINT": self.url,
            **extra,
        }


def moto_jwks() -> dict[str, Any]:
    jwks: dict[str, Any] = load_resource("moto.cognitoidp.responses", "resources/jwks-public.json")
    return jwks


class _JwksHandler(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:
        if not self.path.endswith("/.well-known/jwks.json"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


def _serve_jwks() -> tuple[ThreadingHTTPServer, str]:
    handler = type("Handler", (_JwksHandler,), {"body": json.dumps(moto_jwks()).encode()})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


def _app_client(idp: Any, pool_id: str, name: str) -> str:
    client = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName=name,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )
    return str(client["UserPoolClient"]["ClientId"])


@dataclass
class _Running:
    moto: ThreadedMotoServer
    jwks: ThreadingHTTPServer


def start_moto() -> tuple[MotoAws, _Running]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    url = f"http://{host}:{port}"
    jwks_server, jwks_base = _serve_jwks()
    admin = MotoAws(url, "", "", "", "", "", "")
    idp = admin.client("cognito-idp")
    pool_id = idp.create_user_pool(PoolName="sealchat")["UserPool"]["Id"]
    client_id = _app_client(idp, pool_id, "sealchat")
    other_client_id = _app_client(idp, pool_id, "another-app")
    identity_pool_id = admin.client("cognito-identity").create_identity_pool(
        IdentityPoolName="sealchat",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool_id}",
                "ClientId": client_id,
            }
        ],
    )["IdentityPoolId"]
    key_arn = admin.client("kms").create_key(Description="sealchat messages")["KeyMetadata"]["Arn"]
    aws = MotoAws(
        url=url,
        jwks_url=f"{jwks_base}/{pool_id}/.well-known/jwks.json",
        pool_id=pool_id,
        client_id=client_id,
        other_client_id=other_client_id,
        identity_pool_id=identity_pool_id,
        key_arn=key_arn,
    )
    return aws, _Running(moto, jwks_server)


def stop_moto(running: _Running) -> None:
    running.jwks.shutdown()
    running.jwks.server_close()
    running.moto.stop()


def moto_stand_in() -> Iterator[MotoAws]:
    """For a module-scoped fixture: ``yield from moto_stand_in()``."""
    aws, running = start_moto()
    try:
        yield aws
    finally:
        stop_moto(running)
