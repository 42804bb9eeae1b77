"""AWS mode end to end: a live server in cognito + aws-kms mode, Python clients signing in
through Cognito and sealing with AWS KMS data keys, all against moto on loopback."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from sealchat.client import SealchatClient
from sealchat.client.errors import ClientError
from tests.aws_support import PASSWORD, REGION, MotoAws, moto_stand_in
from tests.integration.cli_support import Terminal
from tests.live_server import LiveServer, start_server
from tests.membership import add_member


@pytest.fixture(scope="module")
def aws() -> Iterator[MotoAws]:
    yield from moto_stand_in()


@pytest.fixture(scope="module")
def server(aws: MotoAws, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("aws-server"), aws.server_env())
    yield live
    live.stop()


@pytest.fixture
async def clients(server: LiveServer) -> AsyncIterator[list[SealchatClient]]:
    made: list[SealchatClient] = []
    yield made
    for client in made:
        await client.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def sign_in(aws: MotoAws, username: str, client_id: str | None = None) -> dict[str, str]:
    reply = aws.client("cognito-idp").initiate_auth(
        ClientId=client_id or aws.client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": username, "PASSWORD": PASSWORD},
    )
    return reply["AuthenticationResult"]  # type: ignore[no-any-return]


def me(server: LiveServer, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/api/me", headers={"Authorization": f"Bearer {token}"})


def test_config_tells_clients_to_use_cognito_and_aws_kms(aws: MotoAws, server: LiveServer) -> None:
    config = httpx.get(f"{server.url}/api/config").json()
    assert config["auth"] == {
        "mode": "cognito",
        "region": REGION,
        "user_pool_id": aws.pool_id,
        "client_id": aws.client_id,
        "identity_pool_id": aws.identity_pool_id,
        "endpoints": {"cognito_idp": aws.url, "cognito_identity": aws.url},
    }
    assert config["key_service"] == {
        "type": "aws-kms",
        "key_id": aws.key_arn,
        "region": REGION,
        "endpoint": aws.url,
    }
    assert config["key_service_layout"] == "aws-kms"
    # No embedded sign-in and no embedded key service in this mode.
    login = httpx.post(f"{server.url}/api/auth/login", json={"username": "x", "password": "y"})
    assert login.status_code in (404, 405)
    assert httpx.post(f"{server.url}/kms/decrypt", json={}).status_code in (404, 405)


async def test_two_people_chat_with_cognito_sign_in_and_aws_kms_data_keys(
    aws: MotoAws, server: LiveServer, clients: list[SealchatClient]
) -> None:
    alice_name, bob_name = aws.add_user(unique("alice")), aws.add_user(unique("bob"))
    alice, bob = SealchatClient(server.url), SealchatClient(server.url)
    clients += [alice, bob]
    assert (await alice.login(alice_name, PASSWORD))["username"] == alice_name
    assert (await bob.login(bob_name, PASSWORD))["username"] == bob_name
    room = await alice.create_room(unique("aws-room"), "private")
    await add_member(alice, bob, room["id"])
    await alice.connect()
    await bob.connect()

    texts = [f"sealed through AWS KMS #{i}" for i in range(3)]
    for text in texts:
        await alice.send_text(room["id"], text)
    received = [await bob.next_opened() for _ in texts]
    assert [m.text for m in received] == texts
    await bob.send_text(room["id"], "and back")
    assert [(await alice.next_opened()).text for _ in range(4)][-1] == "and back"

    # The data keys came from KMS: one GenerateDataKey per sender (reused), one Decrypt per
    # data key a reader had not seen; the envelope names the KMS key and KMS unwraps it.
    assert alice.aws_kms is not None and bob.aws_kms is not None
    assert alice.aws_kms.api_calls["GenerateDataKey"] == 1
    assert bob.aws_kms.api_calls["GenerateDataKey"] == 1
    assert bob.aws_kms.api_calls["Decrypt"] == 1
    assert alice.aws_kms.api_calls["Decrypt"] == 1
    envelope = received[0].message["envelope"]
    assert envelope["kid"] == aws.key_arn
    unwrapped = aws.client("kms").decrypt(
        CiphertextBlob=base64.b64decode(envelope["edk"]),
        EncryptionContext={"room_id": room["id"]},
    )
    assert len(unwrapped["Plaintext"]) == 32

    # History in a new client (a reload): every message opens, one Decrypt per data key.
    again = SealchatClient(server.url)
    clients.append(again)
    await again.login(bob_name, PASSWORD)
    history = await again.history_opened(room["id"])
    assert [m.text for m in history] == [*texts, "and back"]
    assert again.aws_kms is not None and again.aws_kms.api_calls["Decrypt"] == 2


async def test_refresh_keeps_the_session(
    aws: MotoAws, server: LiveServer, clients: list[SealchatClient]
) -> None:
    name = aws.add_user(unique("carol"))
    carol = SealchatClient(server.url)
    clients.append(carol)
    await carol.login(name, PASSWORD)
    before = carol.api.access_token
    await carol.refresh()
    assert carol.api.access_token and carol.api.access_token != before
    assert (await carol.me())["username"] == name


def test_id_tokens_and_access_tokens_of_the_app_client_are_accepted(
    aws: MotoAws, server: LiveServer
) -> None:
    name = aws.add_user(unique("dave"))
    tokens = sign_in(aws, name)
    for token in (tokens["AccessToken"], tokens["IdToken"]):
        reply = me(server, token)
        assert reply.status_code == 200, reply.text
        assert reply.json()["user"]["username"] == name


def test_tokens_for_another_app_client_are_refused(aws: MotoAws, server: LiveServer) -> None:
    name = aws.add_user(unique("erin"))
    tokens = sign_in(aws, name, aws.other_client_id)
    for token in (tokens["AccessToken"], tokens["IdToken"]):
        reply = me(server, token)
        assert reply.status_code == 401
        assert "audience" in reply.json()["error"]["message"]


def test_forged_tokens_are_refused(aws: MotoAws, server: LiveServer) -> None:
    name = aws.add_user(unique("frank"))
    real = jwt.decode(sign_in(aws, name)["AccessToken"], options={"verify_signature": False})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(real, other_key, algorithm="RS256", headers={"kid": "dummy"})
    assert me(server, forged).status_code == 401
    # Expired and signed by a key moto would never use: refused (as forged; expiry itself is
    # tested with a local JWKS in tests/unit/test_jwt_verifier.py).
    expired = jwt.encode(
        {**real, "exp": int(time.time()) - 3600}, other_key, "RS256", headers={"kid": "dummy"}
    )
    assert me(server, expired).status_code == 401
    header, payload, _ = sign_in(aws, name)["AccessToken"].split(".")
    assert me(server, f"{header}.{payload}.").status_code == 401
    unsigned = jwt.encode(real, None, algorithm="none")
    assert me(server, unsigned).status_code == 401


def test_a_taken_username_is_refused_not_shared(aws: MotoAws, server: LiveServer) -> None:
    name = unique("grace")
    aws.add_user(name)
    aws.add_user(name.upper())  # another Cognito user whose name normalizes to the same
    assert me(server, sign_in(aws, name)["AccessToken"]).status_code == 200
    clash = me(server, sign_in(aws, name.upper())["AccessToken"])
    assert clash.status_code == 409
    assert "taken" in clash.json()["error"]["message"]


async def test_sealchat_cli_signs_in_through_cognito_and_seals_with_kms(
    aws: MotoAws, server: LiveServer, clients: list[SealchatClient], tmp_path: Path
) -> None:
    owner_name, cli_name = aws.add_user(unique("ivan")), aws.add_user(unique("judy"))
    owner = SealchatClient(server.url)
    clients.append(owner)
    await owner.login(owner_name, PASSWORD)
    room = await owner.create_room(unique("cli-room"), "public")
    env = {**server.env, "SEALCHAT_URL": server.url, "SEALCHAT_USERNAME": cli_name}
    env["SEALCHAT_PASSWORD"] = PASSWORD
    done = subprocess.run(
        [sys.executable, "-m", "sealchat", "send", "hello from the CLI", "--room", room["name"]],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert [m.text for m in await owner.history_opened(room["id"])] == ["hello from the CLI"]


async def test_register_points_to_the_provider(
    server: LiveServer, clients: list[SealchatClient]
) -> None:
    client = SealchatClient(server.url)
    clients.append(client)
    with pytest.raises(ClientError) as refused:
        await client.register("newcomer", PASSWORD)
    assert refused.value.code == "unsupported" and "cognito" in refused.value.message


async def test_sign_in_once_through_cognito_from_the_command_line(
    aws: MotoAws, server: LiveServer, clients: list[SealchatClient], tmp_path: Path
) -> None:
    owner_name, name = aws.add_user(unique("kim")), aws.add_user(unique("lee"))
    owner = SealchatClient(server.url)
    clients.append(owner)
    await owner.login(owner_name, PASSWORD)
    room = await owner.create_room(unique("kept-session"), "public")
    terminal = Terminal(tmp_path / "lee")
    terminal.env.update(server.env)  # the moto endpoints for KMS
    done = await terminal.run("login", "--url", server.url, name, SEALCHAT_PASSWORD=PASSWORD)
    assert done.code == 0 and f"as {name}" in done.out, done.err
    kept = terminal.profile_file().read_text()
    assert PASSWORD not in kept and json.loads(kept)["mode"] == "cognito"

    done = await terminal.run("whoami")
    assert done.code == 0 and done.out.startswith(f"{name} ("), done.err
    assert (await terminal.run("room", "join", room["name"])).code == 0
    done = await terminal.run("send", "--room", room["name"], "kept session, KMS data key")
    assert done.code == 0, done.err
    assert [m.text for m in await owner.history_opened(room["id"])] == [
        "kept session, KMS data key"
    ]
    done = await terminal.run("logout")
    assert done.code == 0 and not terminal.profile_file().exists(), done.err
