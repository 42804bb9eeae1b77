"""Sealed messages end to end: a live server with its embedded key service."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from sealchat.client import SealchatClient
from sealchat.kms.blob import parse_blob
from tests.integration.conftest import PASSWORD, ClientFactory
from tests.live_server import LiveServer
from tests.membership import add_member

SECRET = "the eagle lands at midnight 7f3a9c"


def files_under(directory: Path, *, exclude: str | None = None) -> list[Path]:
    return [
        p
        for p in directory.rglob("*")
        if p.is_file() and (exclude is None or exclude not in p.parts)
    ]


def kms_audit(server: LiveServer) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealchat",
            "kms",
            "audit",
            "--limit",
            "500",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=server.env,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def kms_decrypt(
    client: SealchatClient, message: dict[str, Any], room_id: str, grant: str
) -> httpx.Response:
    """Ask the key service directly (no client-side checks) to unwrap a message's key."""
    kms = (await client.api.public_get("/api/config"))["kms_url"]
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{kms}/decrypt",
            headers={"Authorization": f"Bearer {client.api.kms_access_token}"},
            json={
                "ciphertext_blob": message["envelope"]["edk"],
                "encryption_context": {"room_id": room_id},
                "grant": grant,
            },
        )


async def private_pair(new_client: ClientFactory) -> tuple[SealchatClient, SealchatClient, str]:
    alice, bob = await new_client(connect=True), await new_client(connect=True)
    room = await alice.create_room("sealed", visibility="private")
    await add_member(alice, bob, room["id"])
    return alice, bob, room["id"]


async def test_a_sealed_message_opens_for_members_and_leaves_no_plaintext(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob, room_id = await private_pair(new_client)
    sent = await alice.send_text(room_id, SECRET)
    assert sent["envelope"]["v"] == 1
    received = await bob.next_opened()
    while received.message["id"] != sent["id"]:
        received = await bob.next_opened()
    assert received.ok and received.text == SECRET
    history = await bob.history_opened(room_id)
    assert [m.text for m in history] == [SECRET]

    # Neither the chat database (with its WAL) nor the server's log holds the plaintext;
    # the key service's storage holds no message, not even its ciphertext.
    needle = SECRET.encode()
    ciphertext = base64.b64decode(sent["envelope"]["ct"])
    for path in files_under(server.data_dir, exclude="kms"):
        assert needle not in path.read_bytes(), path
    for path in files_under(server.data_dir / "kms"):
        data = path.read_bytes()
        assert needle not in data and ciphertext[:24] not in data, path


async def test_outsider_with_copied_envelopes_cannot_open_them(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, _, room_id = await private_pair(new_client)
    await alice.send_text(room_id, SECRET)
    stolen = (await alice.history(room_id))[0]  # as if copied from the chat database

    eve = await new_client()
    opened = await eve.open(stolen)
    assert not opened.ok and opened.text is None
    assert opened.error in ("not_found", "access_denied")

    # Eve goes to the key service directly, with a genuine grant for her own room.
    own_room = await eve.create_room("eve's own")
    grant = await eve.grants.get(own_room["id"])
    refused = await kms_decrypt(eve, stolen, room_id, grant)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "access_denied"
    audit = kms_audit(server)
    assert eve.user["id"] in audit or eve.user["username"] in audit  # type: ignore[index]
    assert "denied" in audit.lower()


async def test_chat_token_is_not_accepted_by_the_key_service(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice = await new_client()
    room = await alice.create_room("mine")
    grant = await alice.grants.get(room["id"])
    kms = (await alice.api.public_get("/api/config"))["kms_url"]
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{kms}/generate-data-key",
            headers={"Authorization": f"Bearer {alice.api.access_token}"},
            json={"encryption_context": {"room_id": room["id"]}, "grant": grant},
        )
        assert response.status_code == 401
        # And the key-service token is no good for the chat API.
        chat = await http.get(
            f"{server.url}/api/me",
            headers={"Authorization": f"Bearer {alice.api.kms_access_token}"},
        )
        assert chat.status_code == 401


async def test_removed_member_cannot_open_new_or_old_messages(
    new_client: ClientFactory,
) -> None:
    alice, bob, room_id = await private_pair(new_client)
    before = await alice.send_text(room_id, "before removal")
    kept_grant = await bob.grants.get(room_id)  # fetched while still a member
    await alice.remove_member(room_id, bob.user["id"])  # type: ignore[index]
    after = await alice.send_text(room_id, "after removal")
    assert after["envelope"]["edk"] != before["envelope"]["edk"]  # a fresh data key

    # Bob kept copies and tries with a fresh client (no cached keys).
    fresh = SealchatClient(bob.api.base_url)
    await fresh.login(bob.user["username"], PASSWORD)  # type: ignore[index]
    for message in (before, after):
        opened = await fresh.open(message)
        assert not opened.ok, message["client_msg_id"]
    await fresh.close()

    # The grant bob kept from before his removal is refused at once, not at its expiry.
    refused = await kms_decrypt(bob, before, room_id, kept_grant)
    assert refused.status_code == 403
    assert "membership" in refused.json()["error"]["message"]

    # Added back, bob gets new grants and can read the room again.
    await add_member(alice, bob, room_id)
    bob.grants.forget(room_id)
    assert (await bob.open(after)).text == "after removal"


async def test_tampering_and_replay_are_detected(new_client: ClientFactory) -> None:
    alice, bob, room_id = await private_pair(new_client)
    other = await alice.create_room("elsewhere", visibility="private")
    await add_member(alice, bob, other["id"])
    sent = await alice.send_text(room_id, SECRET)

    def flipped(field: str) -> dict[str, object]:
        raw = bytearray(base64.b64decode(sent["envelope"][field]))
        raw[-1] ^= 1
        return {**sent, "envelope": {**sent["envelope"], field: base64.b64encode(raw).decode()}}

    cases = {
        "ciphertext/tag": flipped("ct"),
        "iv": flipped("iv"),
        "wrong sender": {**sent, "sender_id": bob.user["id"]},  # type: ignore[index]
        "wrong client id": {**sent, "client_msg_id": "someone-else"},
        "replayed into another room": {**sent, "room_id": other["id"]},
    }
    for name, message in cases.items():
        opened = await bob.open(message)
        assert not opened.ok, name
        # A replay fails either at the key service (the data key is bound to room A)
        # or, with a cached key, at the AAD check: both say the envelope is not genuine.
        expected = (
            {"authentication_failed", "invalid_ciphertext"}
            if "room" in name
            else {"authentication_failed"}
        )
        assert opened.error in expected, (name, opened.error)
    assert (await bob.open(sent)).text == SECRET


async def test_key_service_calls_are_amortized(new_client: ClientFactory) -> None:
    alice, _bob, room_id = await private_pair(new_client)
    for i in range(1000):
        await alice.send_text(room_id, f"message {i}")
    assert alice.key_calls.generate_data_key <= 10
    reader = await new_client()
    await add_member(alice, reader, room_id)
    opened = []
    before_seq = None
    while True:
        page = await reader.history(room_id, before_seq=before_seq, limit=200)
        if not page:
            break
        opened += [await reader.open(m) for m in page]
        before_seq = page[0]["seq"]
    assert len(opened) == 1000 and all(o.ok for o in opened)
    assert reader.key_calls.decrypt <= 10


async def test_messages_sealed_before_and_after_key_rotation_both_open(
    server: LiveServer, new_client: ClientFactory
) -> None:
    alice, bob, room_id = await private_pair(new_client)
    before = await alice.send_text(room_id, "sealed before rotation")
    rotated = subprocess.run(
        [
            sys.executable,
            "-m",
            "sealchat",
            "kms",
            "key",
            "rotate",
            "sealchat-messages",
            "--data-dir",
            str(server.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=server.env,
    )
    assert rotated.returncode == 0, rotated.stderr
    (await alice.sealer()).keyring.retire_sending_key(room_id)
    after = await alice.send_text(room_id, "sealed after rotation")

    versions = [parse_blob(base64.b64decode(m["envelope"]["edk"])).version for m in (before, after)]
    assert versions[1] == versions[0] + 1
    assert [(await bob.open(m)).text for m in (before, after)] == [
        "sealed before rotation",
        "sealed after rotation",
    ]
