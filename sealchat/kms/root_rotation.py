"""Re-wrapping every master key under a new root key while the key service runs.

``sealchat kms rotate-root``: the new root key is written beside the old one
(``root.key.new``), every stored version is re-wrapped in one transaction that also
records the new key's check value, then the new file replaces ``root.key`` (the old one
is kept as ``root.key.previous``). A running key service whose root key no longer opens
a stored key re-reads ``root.key`` and ``root.key.new`` and adopts the one that does
(crypto.py), so requests keep being served throughout.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from sealchat.adapters.secret_files import create_secret_file
from sealchat.kms.audit import utc_now
from sealchat.kms.errors import RootKeyError
from sealchat.kms.models import Actor, AuditEntry, Operation
from sealchat.kms.root_key import FILE_HEADER, ROOT_KEY_BYTES, RootKey, read_root_key
from sealchat.kms.store import KeyStore


def new_path(path: Path) -> Path:
    return path.with_name(path.name + ".new")


def previous_path(path: Path) -> Path:
    return path.with_name(path.name + ".previous")


def candidate_root_keys(path: Path) -> list[RootKey]:
    """The root keys in ``root.key`` and ``root.key.new`` (those that read)."""
    found = []
    for candidate in (path, new_path(path)):
        if candidate.exists():
            try:
                found.append(read_root_key(candidate))
            except RootKeyError:
                continue
    return found


def write_new_root_key(path: Path) -> RootKey:
    """A fresh root key in ``root.key.new`` (0600); refused if one is there already."""
    target = new_path(path)
    material = base64.b64encode(secrets.token_bytes(ROOT_KEY_BYTES)).decode()
    if not create_secret_file(target, f"{FILE_HEADER}\n{material}\n".encode("ascii")):
        raise RootKeyError(
            f"{target} exists: a rotation was interrupted. If the key store already uses "
            f"it (the service starts with it), move it to {path}; otherwise delete it"
        )
    return read_root_key(target)


async def rotate_root(store: KeyStore, old: RootKey, path: Path, actor: Actor) -> int:
    """Re-wrap every version under a new root key and swap the files; returns how many."""
    new = write_new_root_key(path)

    def rewrap(key_id: str, version: int, wrapped: bytes) -> bytes:
        return new.wrap(old.unwrap(wrapped, key_id, version), key_id, version)

    audit = AuditEntry(
        at=utc_now(),
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        operation=Operation.ROTATE_ROOT,
        key_id=None,
        key_version=None,
        encryption_context=None,
        allowed=True,
    )
    count = await store.rewrap_all(rewrap, new.check_value, audit)
    previous = previous_path(path)
    previous.unlink(missing_ok=True)
    os.link(path, previous)
    os.replace(new_path(path), path)  # atomic: root.key is always one of the two keys
    return count
