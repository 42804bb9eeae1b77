"""The root key: 32 random bytes in a file, outside every database, wrapping master keys.

The key store remembers a check value of the root key it was created with, so the
service refuses to start with a missing or different root key instead of silently
creating a new one (which would make every stored master key unreadable).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealchat.adapters.secret_files import create_secret_file
from sealchat.kms.errors import RootKeyError

log = logging.getLogger(__name__)

ROOT_KEY_BYTES = 32
NONCE_BYTES = 12
FILE_HEADER = "sealchat-kms-root-key v1"
CHECK_LABEL = b"sealchat-kms-root-check"
MASTER_AAD_PREFIX = b"sealchat-kms-master|"


def master_aad(key_id: str, version: int) -> bytes:
    """Binds a wrapped master key to its key id and version: rows cannot be swapped."""
    return MASTER_AAD_PREFIX + key_id.encode("ascii") + b"|" + str(version).encode("ascii")


class RootKey:
    def __init__(self, material: bytes) -> None:
        if len(material) != ROOT_KEY_BYTES:
            raise ValueError("a root key is 32 bytes")
        self._aead = AESGCM(material)
        self.check_value = hmac.new(material, CHECK_LABEL, hashlib.sha256).hexdigest()

    @classmethod
    def generate(cls) -> RootKey:
        return cls(secrets.token_bytes(ROOT_KEY_BYTES))

    def wrap(self, material: bytes, key_id: str, version: int) -> bytes:
        nonce = secrets.token_bytes(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, material, master_aad(key_id, version))

    def unwrap(self, wrapped: bytes, key_id: str, version: int) -> bytes:
        """The master key material; ``RootKeyError`` if the row was altered or moved."""
        try:
            return self._aead.decrypt(
                wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], master_aad(key_id, version)
            )
        except (InvalidTag, ValueError):
            raise RootKeyError(
                f"master key {key_id!r} version {version} does not open with the root key: "
                "the key store was altered"
            ) from None


def load_root_key(path: Path, *, expected_check: str | None, store_is_empty: bool) -> RootKey:
    """The root key in ``path``, created (0600, directory 0700) only for an empty store.

    Raises ``RootKeyError`` when the file is missing although the store holds keys, is
    readable by others, is malformed, or is not the key the store was created with.
    """
    if not path.exists():
        if expected_check is not None or not store_is_empty:
            raise RootKeyError(
                f"the key service's root key file {path} is missing, but its database holds "
                "keys wrapped by a root key; restore the file"
            )
        _create(path)
    key = _read(path)
    if expected_check is not None and not hmac.compare_digest(key.check_value, expected_check):
        raise RootKeyError(
            f"root key file does not match the key store: {path} is not the root key that "
            "wrapped the stored master keys; restore the right file"
        )
    return key


def _create(path: Path) -> None:
    text = f"{FILE_HEADER}\n{base64.b64encode(secrets.token_bytes(ROOT_KEY_BYTES)).decode()}\n"
    if create_secret_file(path, text.encode("ascii")):
        log.info("created the key service's root key %s", path)


def _read(path: Path) -> RootKey:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise RootKeyError(f"cannot read the key service's root key file {path}: {exc}") from exc
    if os.name == "posix" and mode & 0o077:
        raise RootKeyError(
            f"the key service's root key file {path} is accessible to other users "
            f"(mode {mode:04o}); make it private with: chmod 600 {path}"
        )
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    try:
        if len(lines) != 2 or lines[0] != FILE_HEADER:
            raise ValueError("unexpected layout")
        return RootKey(base64.b64decode(lines[1], validate=True))
    except (ValueError, binascii.Error):
        raise RootKeyError(
            f"the key service's root key file {path} is not a root key "
            f"(expected a '{FILE_HEADER}' line and 32 bytes of base64)"
        ) from None


def read_root_key(path: Path) -> RootKey:
    """The root key in ``path`` (must be private); ``RootKeyError`` otherwise."""
    return _read(path)
