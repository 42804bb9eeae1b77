"""Data keys: the blob format, round trips, and every way a blob refuses to open."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sealchat.adapters.sql.engine import create_engine
from sealchat.domain.errors import InvalidInput
from sealchat.kms.blob import canonical_context, check_context, parse_blob
from sealchat.kms.crypto import KmsKeyring
from sealchat.kms.errors import InvalidCiphertext, KeyNotFound
from sealchat.kms.models import KEY_SERVICE, AuditEntry, Operation
from sealchat.kms.root_key import RootKey
from sealchat.kms.store import KeyStore, create_schema

KEY = "chat/messages"
CONTEXT = {"room_id": "room-1", "purpose": "message"}


def audit_entry(operation: Operation = Operation.CREATE_KEY) -> AuditEntry:
    return AuditEntry(
        at=datetime.now(UTC),
        actor_user_id=None,
        actor_username=KEY_SERVICE.username,
        operation=operation,
        key_id=KEY,
        key_version=None,
        encryption_context=None,
        allowed=True,
    )


@pytest.fixture
async def keyring(tmp_path: Path) -> AsyncIterator[KmsKeyring]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'kms.db'}")
    await create_schema(engine)
    keyring = KmsKeyring(KeyStore(engine), RootKey.generate())
    await keyring.create_key(KEY, "test key", audit_entry())
    yield keyring
    await engine.dispose()


async def test_round_trip(keyring: KmsKeyring) -> None:
    made = await keyring.generate_data_key(KEY, CONTEXT)
    assert len(made.plaintext) == 32
    assert (made.key_id, made.key_version) == (KEY, 1)
    opened = await keyring.decrypt(made.ciphertext_blob, dict(reversed(CONTEXT.items())))
    assert opened.plaintext == made.plaintext
    assert (opened.key_id, opened.key_version) == (KEY, 1)


async def test_every_data_key_is_fresh(keyring: KmsKeyring) -> None:
    first = await keyring.generate_data_key(KEY, CONTEXT)
    second = await keyring.generate_data_key(KEY, CONTEXT)
    assert first.plaintext != second.plaintext
    assert first.ciphertext_blob != second.ciphertext_blob


@pytest.mark.parametrize(
    "context",
    [
        {"room_id": "room-2", "purpose": "message"},
        {"room_id": "room-1"},
        {"room_id": "room-1", "purpose": "message", "extra": "x"},
        {},
    ],
)
async def test_another_context_does_not_open(keyring: KmsKeyring, context: dict[str, str]) -> None:
    made = await keyring.generate_data_key(KEY, CONTEXT)
    with pytest.raises(InvalidCiphertext):
        await keyring.decrypt(made.ciphertext_blob, context)


async def test_a_tampered_blob_does_not_open(keyring: KmsKeyring) -> None:
    blob = (await keyring.generate_data_key(KEY, CONTEXT)).ciphertext_blob
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(InvalidCiphertext):
            await keyring.decrypt(bytes(tampered), CONTEXT)
    for broken in (b"", blob[:-1], blob + b"\x00", b"\x02" + blob[1:]):
        with pytest.raises(InvalidCiphertext):
            await keyring.decrypt(broken, CONTEXT)


async def test_unknown_key_or_version_does_not_open(keyring: KmsKeyring) -> None:
    blob = (await keyring.generate_data_key(KEY, CONTEXT)).ciphertext_blob
    header = parse_blob(blob)
    for key_id, version in (("other-key", 1), (KEY, 7)):
        moved = type(header)(key_id, version, header.nonce, header.sealed).encode()
        with pytest.raises(InvalidCiphertext):
            await keyring.decrypt(moved, CONTEXT)


async def test_generating_under_an_unknown_key_is_not_found(keyring: KmsKeyring) -> None:
    with pytest.raises(KeyNotFound):
        await keyring.generate_data_key("no-such-key", CONTEXT)


async def test_rotation_keeps_old_blobs_open_and_seals_with_the_new_version(
    keyring: KmsKeyring,
) -> None:
    before = await keyring.generate_data_key(KEY, CONTEXT)
    assert await keyring.rotate_key(KEY, audit_entry(Operation.ROTATE_KEY)) == 2
    after = await keyring.generate_data_key(KEY, CONTEXT)
    assert (before.key_version, after.key_version) == (1, 2)
    assert parse_blob(after.ciphertext_blob).version == 2
    assert (await keyring.decrypt(before.ciphertext_blob, CONTEXT)).plaintext == before.plaintext
    assert (await keyring.decrypt(after.ciphertext_blob, CONTEXT)).plaintext == after.plaintext
    assert (await keyring.decrypt(before.ciphertext_blob, CONTEXT)).key_version == 1


async def test_blob_layout_is_the_documented_one(keyring: KmsKeyring) -> None:
    blob = (await keyring.generate_data_key(KEY, CONTEXT)).ciphertext_blob
    key_id = KEY.encode()
    assert blob[0] == 0x01
    assert blob[1] == len(key_id)
    assert blob[2 : 2 + len(key_id)] == key_id
    assert struct.unpack(">I", blob[2 + len(key_id) : 6 + len(key_id)]) == (1,)
    assert len(blob) == 2 + len(key_id) + 4 + 12 + 48


def test_canonical_context_sorts_keys_without_whitespace() -> None:
    assert canonical_context({"b": "2", "a": "é"}) == '{"a":"é","b":"2"}'.encode()


@pytest.mark.parametrize(
    "context",
    [
        {f"k{i}": "v" for i in range(17)},
        {"room_id": "x" * 257},
        {"x" * 257: "v"},
        {"": "v"},
        {"room_id": 5},
        {"room_id": {"nested": "map"}},
    ],
)
def test_contexts_must_be_small_flat_string_maps(context: dict[str, object]) -> None:
    with pytest.raises(InvalidInput):
        check_context(context)
