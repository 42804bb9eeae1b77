"""The root key file: created once, private, and always the one the key store expects."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from sealchat.kms.errors import RootKeyError
from sealchat.kms.models import Actor
from sealchat.kms.root_key import RootKey, load_root_key
from sealchat.kms.runtime import open_kms_engine, open_local_key_service
from sealchat.kms.tables import kms_key_versions, kms_meta
from sealchat.settings import Settings


def settings_for(data_dir: Path) -> Settings:
    return Settings(data_dir=data_dir, _env_file=None)


async def start(settings: Settings) -> None:
    async with open_local_key_service(settings):
        pass


async def test_first_start_creates_a_private_root_key_and_the_default_key(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    async with open_local_key_service(settings) as service:
        keys = await service.list_keys()
    assert [key.key_id for key in keys] == [settings.kms_default_key_id]
    path = settings.resolved_kms_root_key_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().startswith("sealchat-kms-root-key v1\n")
    await start(settings)  # and the next start accepts it
    assert not list(path.parent.glob(".*.tmp"))


async def test_a_missing_root_key_with_a_non_empty_store_refuses_to_start(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    await start(settings)
    path = settings.resolved_kms_root_key_file()
    path.unlink()
    with pytest.raises(RootKeyError) as refused:
        await start(settings)
    assert str(refused.value) == (
        f"the key service's root key file {path} is missing, but its database holds keys "
        "wrapped by a root key; restore the file"
    )
    assert not path.exists()  # and no new root key was made in its place


async def test_another_root_key_file_refuses_to_start(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    await start(settings)
    other = settings_for(tmp_path / "other")
    await start(other)
    path = settings.resolved_kms_root_key_file()
    path.write_bytes(other.resolved_kms_root_key_file().read_bytes())
    with pytest.raises(RootKeyError, match="root key file does not match the key store"):
        await start(settings)


async def test_without_a_recorded_check_value_the_root_key_must_open_the_stored_keys(
    tmp_path: Path,
) -> None:
    settings = settings_for(tmp_path)
    await start(settings)
    async with open_kms_engine(settings) as engine, engine.begin() as conn:
        await conn.execute(delete(kms_meta).where(kms_meta.c.name == "root_key_check"))
    path = settings.resolved_kms_root_key_file()
    original = path.read_bytes()
    other = settings_for(tmp_path / "other")
    await start(other)
    path.write_bytes(other.resolved_kms_root_key_file().read_bytes())
    with pytest.raises(RootKeyError, match="root key file does not match the key store"):
        await start(settings)
    path.write_bytes(original)
    await start(settings)  # the right file opens them, and its check value is recorded again
    path.write_bytes(other.resolved_kms_root_key_file().read_bytes())
    with pytest.raises(RootKeyError, match="root key file does not match the key store"):
        await start(settings)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
async def test_a_root_key_readable_by_others_refuses_to_start(tmp_path: Path, mode: int) -> None:
    settings = settings_for(tmp_path)
    await start(settings)
    path = settings.resolved_kms_root_key_file()
    os.chmod(path, mode)
    with pytest.raises(RootKeyError, match=r"accessible to other users.*chmod 600"):
        await start(settings)


@pytest.mark.parametrize(
    "text",
    ["", "hello\n", "sealchat-kms-root-key v1\nnot base64!\n", "sealchat-kms-root-key v1\nAAAA\n"],
)
def test_a_malformed_root_key_file_is_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "root.key"
    path.write_text(text)
    os.chmod(path, 0o600)
    with pytest.raises(RootKeyError, match="is not a root key"):
        load_root_key(path, expected_check=None, store_is_empty=True)


def test_a_wrapped_master_key_opens_only_as_its_own_key_and_version() -> None:
    root = RootKey.generate()
    wrapped = root.wrap(b"m" * 32, "key-a", 1)
    assert root.unwrap(wrapped, "key-a", 1) == b"m" * 32
    for key_id, version in (("key-b", 1), ("key-a", 2)):
        with pytest.raises(RootKeyError, match="altered"):
            root.unwrap(wrapped, key_id, version)


async def test_the_key_database_holds_no_raw_key_material(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    async with open_local_key_service(settings) as service:
        await service.create_key(_admin(), "second", "another key")
        await service.rotate_key(_admin(), settings.kms_default_key_id)
    root_file = settings.resolved_kms_root_key_file()
    root = load_root_key(root_file, expected_check=None, store_is_empty=False)
    async with open_kms_engine(settings) as engine, engine.connect() as conn:
        rows = (await conn.execute(select(kms_key_versions))).all()
    materials = [root.unwrap(row.wrapped_material, row.key_id, row.version) for row in rows]
    assert len(materials) == 3 and all(len(m) == 32 for m in materials)
    stored = b"".join(p.read_bytes() for p in (tmp_path / "kms").glob("kms.db*"))
    assert stored
    root_material = base64.b64decode(root_file.read_text().splitlines()[1])
    for material in [*materials, root_material]:
        assert material not in stored
        assert material.hex().encode() not in stored
        assert base64.b64encode(material) not in stored


def _admin() -> Actor:
    return Actor(user_id=None, username="local:test", local=True)
