"""`sealchat login` once, then every command without the password; `logout` ends it."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import httpx
import pytest

from tests.integration.cli_support import Terminal
from tests.integration.conftest import PASSWORD, ClientFactory
from tests.live_server import LiveServer


def stored(terminal: Terminal, profile: str = "default") -> dict[str, str]:
    return json.loads(terminal.profile_file(profile).read_text())  # type: ignore[no-any-return]


# Each test runs the `sealchat` command many times (a new interpreter each): on a busy
# machine that is slower than the default timeout.
pytestmark = pytest.mark.timeout(600)


async def test_sign_in_once_then_work_without_the_password(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice = await new_client()
    name = alice.user["username"]  # type: ignore[index]
    me = Terminal(tmp_path / "config")

    login = await me.run("login", "--url", server.url, name, SEALCHAT_PASSWORD=PASSWORD)
    assert login.code == 0, login.err
    assert f"signed in to {server.url} as {name} (profile default)" in login.out
    assert "Trust: key service in the same process as the server" in login.out
    assert "docs/key-service.md#12-what-clients-say-about-the-layout" in login.out

    # The session file: the user's alone, with a refresh token and never the password.
    path = me.profile_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert PASSWORD not in path.read_text()
    first = stored(me)
    assert first["storage"] == "file" and first["url"] == server.url
    assert first["username"] == name and first["refresh_token"]

    # From here on no password anywhere: each command uses the session, and rotates it.
    whoami = await me.run("whoami")
    assert whoami.code == 0, whoami.err
    assert whoami.out.startswith(f"{name} ({alice.user['id']}) at {server.url}")  # type: ignore[index]
    second = stored(me)
    assert second["refresh_token"] != first["refresh_token"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    made = await me.run("room", "create", "ops", "--private")
    assert made.code == 0, made.err
    assert made.out.startswith("created ops [") and "private room, owner: " + name in made.out
    sent = await me.run("send", "--room", "ops", "sealed from a stored session")
    assert sent.code == 0, sent.err
    history = await me.run("history", "--room", "ops")
    assert history.code == 0, history.err
    assert history.out.rstrip().endswith(f"{name}: sealed from a stored session")
    as_json = await me.run("history", "--room", "ops", "--json")
    [message] = json.loads(as_json.out)
    assert message["seq"] == 1 and message["text"] == "sealed from a stored session"
    assert message["sender"]["username"] == name and message["error"] is None

    rooms = await me.run("rooms", "--json")
    assert rooms.code == 0, rooms.err
    listed = json.loads(rooms.out)
    assert [(r["name"], r["role"], r["visibility"]) for r in listed] == [
        ("ops", "owner", "private")
    ]
    who = json.loads((await me.run("whoami", "--json")).out)
    assert who["user"]["username"] == name
    assert who["key_service_layout"] == "embedded-same-process"
    assert stored(me)["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    assert PASSWORD not in path.read_text()

    # Commands at the same time share the profile: each refresh waits for the one before,
    # so none presents a spent token (which would end the session for all).
    together = await asyncio.gather(*(me.run("rooms") for _ in range(3)))
    assert [done.code for done in together] == [0, 0, 0], [d.err for d in together]
    assert (await me.run("whoami")).code == 0


async def test_two_profiles_side_by_side(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob = await new_client(), await new_client()
    me = Terminal(tmp_path / "config")
    for profile, client in (("work", alice), ("home", bob)):
        name = client.user["username"]  # type: ignore[index]
        done = await me.run(
            "login", "--url", server.url, "--profile", profile, name, SEALCHAT_PASSWORD=PASSWORD
        )
        assert done.code == 0, done.err
    for profile, client in (("work", alice), ("home", bob)):
        who = json.loads((await me.run("whoami", "--json", "--profile", profile)).out)
        assert who["user"]["id"] == client.user["id"]  # type: ignore[index]
    # The default profile was never signed in: said plainly, not a traceback.
    nobody = await me.run("rooms")
    assert nobody.code == 1 and "not signed in: run `sealchat login`" in nobody.err
    assert "Traceback" not in nobody.err
    # A --username that is not the profile's is refused rather than ignored.
    other = await me.run("rooms", "--profile", "work", "--username", "someone-else")
    assert other.code == 1 and "is signed in as" in other.err


async def test_logout_revokes_the_session_at_the_server(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice = await new_client()
    me = Terminal(tmp_path / "config")
    name = alice.user["username"]  # type: ignore[index]
    assert (await me.run("login", "--url", server.url, name, SEALCHAT_PASSWORD=PASSWORD)).code == 0
    token = stored(me)["refresh_token"]  # the current one: not spent

    out = await me.run("logout")
    assert out.code == 0, out.err
    assert f"signed out {name} at {server.url}" in out.out
    assert not me.profile_file().exists()

    async with httpx.AsyncClient(base_url=server.url) as http:
        refused = await http.post("/api/auth/refresh", json={"refresh_token": token})
    assert refused.status_code == 401
    after = await me.run("rooms")
    assert after.code == 1 and "not signed in" in after.err
    again = await me.run("logout")
    assert again.code == 0 and "not signed in" in again.out


async def test_a_session_ended_elsewhere_asks_to_sign_in_again(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice = await new_client()
    me = Terminal(tmp_path / "config")
    name = alice.user["username"]  # type: ignore[index]
    assert (await me.run("login", "--url", server.url, name, SEALCHAT_PASSWORD=PASSWORD)).code == 0
    async with httpx.AsyncClient(base_url=server.url) as http:
        ended = await http.post(
            "/api/auth/logout", json={"refresh_token": stored(me)["refresh_token"]}
        )
    assert ended.status_code == 204

    done = await me.run("rooms")
    assert done.code == 1 and "has ended" in done.err and "sealchat login" in done.err
    assert "Traceback" not in done.err
    assert not me.profile_file().exists()


async def test_a_wrong_password_stores_nothing(
    server: LiveServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice = await new_client()
    me = Terminal(tmp_path / "config")
    name = alice.user["username"]  # type: ignore[index]
    done = await me.run("login", "--url", server.url, name, SEALCHAT_PASSWORD="not the password")
    assert done.code == 1 and "unauthorized" in done.err and "Traceback" not in done.err
    assert not me.profile_file().exists()
