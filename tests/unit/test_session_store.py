"""Where `sealchat login` keeps a session: a keyring, else a file only the user can read."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from sealchat.client.errors import ClientError
from sealchat.client.session_store import SessionStore, StoredSession

SESSION = StoredSession("http://127.0.0.1:8000", "alice", "id-1", "refresh-secret")


class MemoryKeyring:
    priority = 1

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def set_password(self, service: str, name: str, secret: str) -> None:
        self.secrets[(service, name)] = secret

    def get_password(self, service: str, name: str) -> str | None:
        return self.secrets.get((service, name))

    def delete_password(self, service: str, name: str) -> None:
        self.secrets.pop((service, name), None)


def test_without_a_keyring_the_token_is_in_a_file_only_the_user_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEALCHAT_KEYRING", "off")  # as where no keyring backend works
    store = SessionStore(tmp_path)
    assert not store.uses_keyring
    saved = store.save("default", SESSION)
    assert saved.storage == "file"
    path = store.path("default")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.load("default") == saved
    assert store.profiles() == ["default"]
    assert store.delete("default") and store.load("default") is None


def test_with_a_keyring_the_file_names_the_server_and_keeps_no_token(tmp_path: Path) -> None:
    keyring = MemoryKeyring()
    store = SessionStore(tmp_path, keyring)
    saved = store.save("work", SESSION)
    assert saved.storage == "keyring"
    assert "refresh-secret" not in store.path("work").read_text()
    assert keyring.secrets[("sealchat", "work")] == "refresh-secret"
    assert store.load("work") == saved
    store.delete("work")
    assert keyring.secrets == {} and not store.path("work").exists()


@pytest.mark.parametrize("name", ["", "../escape", "a/b", ".hidden", "x" * 65])
def test_profile_names_cannot_leave_the_directory(tmp_path: Path, name: str) -> None:
    with pytest.raises(ClientError) as refused:
        SessionStore(tmp_path).path(name)
    assert refused.value.code == "invalid_input"


def test_a_damaged_profile_file_is_a_clear_error(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, MemoryKeyring())
    store.save("default", SESSION)
    store.path("default").write_text("{not json")
    with pytest.raises(ClientError) as refused:
        store.load("default")
    assert "unreadable profile file" in refused.value.message


async def test_the_profile_lock_serializes_refreshes(tmp_path: Path) -> None:
    store = SessionStore(tmp_path, MemoryKeyring())
    order: list[str] = []

    async def hold(name: str) -> None:
        async with store.locked("default"):
            order.append(f"{name} in")
            await asyncio.sleep(0.1)
            order.append(f"{name} out")

    await asyncio.gather(hold("a"), hold("b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
