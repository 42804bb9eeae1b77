"""The original AWS design in the browser, against moto's server on loopback: two people
sign in through Cognito (USER_PASSWORD_AUTH), get AWS credentials from a Cognito Identity
Pool, seal with data keys from AWS KMS (GenerateDataKey / Decrypt with the room in the
encryption context) and read the history after a reload. The KMS calls are counted on the
wire (X-Amz-Target TrentService.*) to show where the data keys come from."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.chat_page import ChatPage, unique_name
from tests.live_server import LiveServer, free_port, start_server

REGION = "eu-west-1"
PASSWORD = "Correct-horse-9"


@dataclass
class AwsStandIn:
    endpoint: str
    pool_id: str
    client_id: str
    identity_pool_id: str
    key_arn: str
    server: LiveServer


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory, monkeypatch_module: Any) -> Iterator[AwsStandIn]:
    import boto3
    from moto.server import ThreadedMotoServer

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch_module.setenv(name, value)
    # Real Cognito tokens carry iat (the chat server requires it); moto's do not. moto's
    # server runs in this process, so its token maker is given the claim here.
    from moto.cognitoidp.models import CognitoIdpUserPool

    create_jwt = CognitoIdpUserPool.create_jwt

    def create_jwt_with_iat(self: Any, *args: Any, **kwargs: Any) -> tuple[str, int]:
        extra = {"iat": int(time.time()), **(kwargs.pop("extra_data", None) or {})}
        return create_jwt(self, *args, extra_data=extra, **kwargs)

    monkeypatch_module.setattr(CognitoIdpUserPool, "create_jwt", create_jwt_with_iat)
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{port}"
    idp = boto3.client("cognito-idp", region_name=REGION, endpoint_url=endpoint)
    pool_id = idp.create_user_pool(PoolName="sealchat")["UserPool"]["Id"]
    client_id = idp.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="sealchat-web",
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    for user in ("alice", "bob"):
        idp.admin_create_user(UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS")
        idp.admin_set_user_password(
            UserPoolId=pool_id, Username=user, Password=PASSWORD, Permanent=True
        )
    identity = boto3.client("cognito-identity", region_name=REGION, endpoint_url=endpoint)
    identity_pool_id = identity.create_identity_pool(
        IdentityPoolName="sealchat",
        AllowUnauthenticatedIdentities=False,
        CognitoIdentityProviders=[
            {
                "ProviderName": f"cognito-idp.{REGION}.amazonaws.com/{pool_id}",
                "ClientId": client_id,
            }
        ],
    )["IdentityPoolId"]
    jwks = serve_moto_jwks()
    kms = boto3.client("kms", region_name=REGION, endpoint_url=endpoint)
    key_arn = kms.create_key(Description="sealchat messages")["KeyMetadata"]["Arn"]

    server = start_server(
        tmp_path_factory.mktemp("cognito-server"),
        extra_env={
            "SEALCHAT_AUTH": "cognito",
            "SEALCHAT_COGNITO_REGION": REGION,
            "SEALCHAT_COGNITO_USER_POOL_ID": pool_id,
            "SEALCHAT_COGNITO_CLIENT_ID": client_id,
            "SEALCHAT_COGNITO_IDENTITY_POOL_ID": identity_pool_id,
            "SEALCHAT_COGNITO_IDP_ENDPOINT": endpoint,
            "SEALCHAT_COGNITO_IDENTITY_ENDPOINT": endpoint,
            "SEALCHAT_JWKS_URL": f"http://127.0.0.1:{jwks.server_address[1]}/jwks.json",
            "SEALCHAT_KEY_SERVICE": "aws-kms",
            "SEALCHAT_AWS_KMS_KEY_ID": key_arn,
            "SEALCHAT_AWS_REGION": REGION,
            "SEALCHAT_AWS_KMS_ENDPOINT": endpoint,
        },
    )
    yield AwsStandIn(endpoint, pool_id, client_id, identity_pool_id, key_arn, server)
    server.stop()
    jwks.shutdown()
    jwks.server_close()
    moto.stop()


def serve_moto_jwks() -> ThreadingHTTPServer:
    """moto signs every pool's tokens with one key it ships; its server mode does not route
    /{pool}/.well-known/jwks.json on a bare address, so serve the public half here."""
    from moto.utilities.utils import load_resource

    body = json.dumps(
        load_resource("moto.cognitoidp.models", "resources/jwks-public.json")
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def count_aws_calls(chat: ChatPage, endpoint: str) -> Counter[str]:
    """X-Amz-Target of every request the page sends to the AWS endpoint."""
    calls: Counter[str] = Counter()

    def seen(request: Any) -> None:
        if request.url.startswith(endpoint) and request.method == "POST":
            calls[request.headers.get("x-amz-target", "?")] += 1

    chat.page.on("request", seen)
    return calls


async def sign_in_with_cognito(chat: ChatPage, username: str) -> None:
    await expect(chat.page.get_by_role("button", name="Create account")).to_have_count(0)
    await chat.page.get_by_label("Username").fill(username)
    await chat.page.get_by_label("Password").fill(PASSWORD)
    await chat.page.get_by_role("button", name="Sign in").click()
    await expect(chat.sidebar).to_be_visible()
    chat.username = username


async def test_two_people_seal_with_aws_kms_after_cognito_sign_in(
    browser: Any, aws: AwsStandIn
) -> None:
    alice = await ChatPage.open(browser, aws.server.url)
    bob = await ChatPage.open(browser, aws.server.url)
    alice_calls = count_aws_calls(alice, aws.endpoint)
    bob_calls = count_aws_calls(bob, aws.endpoint)
    await sign_in_with_cognito(alice, "alice")
    await sign_in_with_cognito(bob, "bob")
    assert alice_calls["AWSCognitoIdentityProviderService.InitiateAuth"] == 1

    room = unique_name("aws")
    await alice.create_room(room)
    await alice.invite("bob")
    await bob.accept_invitation(room)
    await alice.send("sealed with a KMS data key")
    await alice.wait_until_sent(1)
    await expect(bob.message("sealed with a KMS data key")).to_be_visible()
    await bob.send("and unwrapped through KMS")
    await bob.wait_until_sent(1)
    await expect(alice.message("and unwrapped through KMS")).to_be_visible()

    # The data keys come from the KMS endpoint, with identity-pool credentials.
    assert alice_calls["TrentService.GenerateDataKey"] == 1, alice_calls
    assert bob_calls["TrentService.GenerateDataKey"] == 1, bob_calls
    assert bob_calls["TrentService.Decrypt"] >= 1, bob_calls
    assert alice_calls["TrentService.Decrypt"] >= 1, alice_calls
    assert alice_calls["AWSCognitoIdentityService.GetId"] == 1, alice_calls
    assert alice_calls["AWSCognitoIdentityService.GetCredentialsForIdentity"] >= 1, alice_calls

    # After a reload: resumed with the refresh token, history unwrapped through KMS again.
    reloaded = count_aws_calls(bob, aws.endpoint)
    reloaded.clear()
    await bob.page.reload()
    await bob.open_room(room)
    await expect(bob.message("sealed with a KMS data key")).to_be_visible()
    await expect(bob.message("and unwrapped through KMS")).to_be_visible()
    assert reloaded["AWSCognitoIdentityProviderService.InitiateAuth"] == 1, reloaded  # refresh
    assert reloaded["TrentService.Decrypt"] == 2, reloaded  # one per data key, then cached
    assert not alice.problems and not bob.problems, alice.problems + bob.problems
