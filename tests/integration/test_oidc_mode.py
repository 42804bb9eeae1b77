"""OIDC mode end to end with the embedded key service: a live server trusting a loopback
OpenID provider; Python clients sign in there (password grant) and seal through the embedded
key service, which accepts the provider's tokens for the chat server's audience."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from sealchat.client import SealchatClient
from tests.integration.cli_support import Terminal
from tests.live_server import LiveServer, start_server
from tests.membership import add_member
from tests.oidc_support import CLIENT_ID, OidcProvider, running_provider

PASSWORD = "a long enough password"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    yield from running_provider()


@pytest.fixture(scope="module")
def server(
    provider: OidcProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    env = {
        "SEALCHAT_AUTH": "oidc",
        "SEALCHAT_OIDC_ISSUER": provider.issuer,
        "SEALCHAT_OIDC_CLIENT_ID": CLIENT_ID,
    }
    live = start_server(tmp_path_factory.mktemp("oidc-server"), env)
    yield live
    live.stop()


@pytest.fixture
async def clients(server: LiveServer) -> AsyncIterator[list[SealchatClient]]:
    made: list[SealchatClient] = []
    yield made
    for client in made:
        await client.close()


def user(provider: OidcProvider, prefix: str) -> str:
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    provider.add_user(name, PASSWORD)
    return name


def test_config_names_the_provider(provider: OidcProvider, server: LiveServer) -> None:
    config = httpx.get(f"{server.url}/api/config").json()
    assert config["auth"] == {
        "mode": "oidc",
        "issuer": provider.issuer,
        "client_id": CLIENT_ID,
        "scopes": "openid profile",
        "audience": CLIENT_ID,
    }
    assert config["key_service"]["type"] == "embedded"
    assert config["kms_audience"] == CLIENT_ID
    assert httpx.post(f"{server.url}/api/auth/login", json={}).status_code in (404, 405)


async def test_two_people_chat_through_the_provider_and_the_embedded_key_service(
    provider: OidcProvider, server: LiveServer, clients: list[SealchatClient]
) -> None:
    alice_name, bob_name = user(provider, "alice"), user(provider, "bob")
    alice, bob = SealchatClient(server.url), SealchatClient(server.url)
    clients += [alice, bob]
    assert (await alice.login(alice_name, PASSWORD))["username"] == alice_name
    await bob.login(bob_name, PASSWORD)
    room = await alice.create_room(f"oidc-{uuid.uuid4().hex[:6]}", "private")
    await add_member(alice, bob, room["id"])
    await alice.connect()
    await bob.connect()
    await alice.send_text(room["id"], "sealed, signed in elsewhere")
    assert (await bob.next_opened()).text == "sealed, signed in elsewhere"
    await bob.refresh()
    assert (await bob.me())["username"] == bob_name

    # An outsider signed in at the same provider gets no grant, so no key.
    eve = SealchatClient(server.url)
    clients.append(eve)
    await eve.login(user(provider, "eve"), PASSWORD)
    message = (await alice.history(room["id"]))[0]
    opened = await eve.open(message)
    assert opened.error in ("forbidden", "not_found", "access_denied")


def test_the_server_refuses_the_providers_bad_tokens(
    provider: OidcProvider, server: LiveServer
) -> None:
    name = user(provider, "mallory")

    def status(token: str) -> int:
        headers = {"Authorization": f"Bearer {token}"}
        return httpx.get(f"{server.url}/api/me", headers=headers).status_code

    assert status(provider.token(name)) == 200
    assert status(provider.token(name, aud="another-app")) == 401
    assert status(provider.token(name, iss="http://127.0.0.1:1")) == 401
    assert status(provider.token(name, exp=1_000_000)) == 401


async def test_sign_in_once_through_the_provider_from_the_command_line(
    provider: OidcProvider, server: LiveServer, tmp_path: Path
) -> None:
    name = user(provider, "carol")
    terminal = Terminal(tmp_path / "carol")
    done = await terminal.run("login", "--url", server.url, name, SEALCHAT_PASSWORD=PASSWORD)
    assert done.code == 0, done.err
    assert f"signed in to {server.url} as {name}" in done.out
    kept = terminal.profile_file().read_text()
    assert PASSWORD not in kept and json.loads(kept)["mode"] == "oidc"
    first_token = json.loads(kept)["refresh_token"]

    # Later commands use the kept session; the provider rotates the refresh token and the
    # profile keeps the newest one (the spent one would be refused).
    done = await terminal.run("whoami")
    assert done.code == 0 and done.out.startswith(f"{name} ("), done.err
    assert json.loads(terminal.profile_file().read_text())["refresh_token"] != first_token
    room = f"oidc-cli-{uuid.uuid4().hex[:6]}"
    assert (await terminal.run("room", "create", room)).code == 0
    done = await terminal.run("send", "--room", room, "sealed through the provider's session")
    assert done.code == 0 and "sent #1" in done.out, done.err
    done = await terminal.run("history", "--room", room)
    assert done.out.rstrip().endswith(f"{name}: sealed through the provider's session")

    done = await terminal.run("logout")
    assert done.code == 0 and f"signed out {name}" in done.out, done.err
    assert not terminal.profile_file().exists()
    done = await terminal.run("whoami")
    assert done.code == 1 and "not signed in" in done.err
