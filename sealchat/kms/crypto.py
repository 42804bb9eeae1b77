"""Master keys and data keys: what the key service does with key material.

Master key material exists in plaintext only in memory, for the moment it seals or
opens a data key; the store holds it wrapped by the root key. Nothing here logs
material, blobs or contexts.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealchat.kms.audit import utc_now
from sealchat.kms.blob import (
    DATA_KEY_BYTES,
    NONCE_BYTES,
    Blob,
    additional_data,
    check_context,
    check_key_id,
    parse_blob,
)
from sealchat.kms.errors import InvalidCiphertext, KeyNotFound, RootKeyError
from sealchat.kms.models import AuditEntry, EncryptionContext, KmsDataKey, MasterKey
from sealchat.kms.root_key import RootKey
from sealchat.kms.store import KeyStore

log = logging.getLogger(__name__)

MASTER_KEY_BYTES = 32
CANNOT_DECRYPT = "the ciphertext blob cannot be decrypted with this encryption context"


class KmsKeyring:
    def __init__(
        self,
        store: KeyStore,
        root_key: RootKey,
        clock: Callable[[], datetime] = utc_now,
        reload_root: Callable[[], list[RootKey]] | None = None,
    ) -> None:
        self._store = store
        self._root = root_key
        self._clock = clock
        # The root key files as they are now (``sealchat kms rotate-root`` replaces them
        # while this service runs): tried when the stored keys no longer open.
        self._reload_root = reload_root

    def _unwrap(self, wrapped: bytes, key_id: str, version: int) -> bytes:
        try:
            return self._root.unwrap(wrapped, key_id, version)
        except RootKeyError:
            for candidate in self._reload_root() if self._reload_root else []:
                try:
                    material = candidate.unwrap(wrapped, key_id, version)
                except RootKeyError:
                    continue
                log.info("the root key was rotated: using the new one from now on")
                self._root = candidate
                return material
            raise

    async def _current_root(self) -> RootKey:
        """The root key the store is wrapped with now, before wrapping new material."""
        recorded = await self._store.root_check()
        if recorded is not None and recorded != self._root.check_value and self._reload_root:
            for candidate in self._reload_root():
                if candidate.check_value == recorded:
                    log.info("the root key was rotated: using the new one from now on")
                    self._root = candidate
                    break
        return self._root

    async def create_key(self, key_id: str, description: str, audit: AuditEntry) -> MasterKey:
        """A new master key with fresh material as version 1; ``KeyExists`` if taken."""
        key = MasterKey(check_key_id(key_id), description, self._clock(), current_version=1)
        material = secrets.token_bytes(MASTER_KEY_BYTES)
        root = await self._current_root()
        await self._store.create_key(key, root.wrap(material, key_id, 1), audit)
        return key

    async def rotate_key(self, key_id: str, audit: AuditEntry) -> int:
        """A new current version of ``key_id``; older versions still open their blobs."""

        root = await self._current_root()

        def wrap_new_material(version: int) -> bytes:
            return root.wrap(secrets.token_bytes(MASTER_KEY_BYTES), key_id, version)

        return await self._store.add_version(
            check_key_id(key_id), wrap_new_material, self._clock(), audit
        )

    async def generate_data_key(self, key_id: str, context: EncryptionContext) -> KmsDataKey:
        """32 random bytes, and the same bytes sealed under ``key_id``'s current version."""
        context = check_context(context)
        found = await self._store.current_wrapped(check_key_id(key_id))
        if found is None:
            raise KeyNotFound(f"no key {key_id!r}")
        version, wrapped = found
        master = AESGCM(self._unwrap(wrapped, key_id, version))
        plaintext = secrets.token_bytes(DATA_KEY_BYTES)
        nonce = secrets.token_bytes(NONCE_BYTES)
        sealed = master.encrypt(nonce, plaintext, additional_data(context, key_id, version))
        blob = Blob(key_id=key_id, version=version, nonce=nonce, sealed=sealed)
        return KmsDataKey(key_id, version, plaintext, blob.encode())

    async def decrypt(self, ciphertext_blob: bytes, context: EncryptionContext) -> KmsDataKey:
        """The data key in ``ciphertext_blob``; ``InvalidCiphertext`` for any failure."""
        context = check_context(context)
        blob = parse_blob(ciphertext_blob)
        wrapped = await self._store.wrapped(blob.key_id, blob.version)
        if wrapped is None:
            raise InvalidCiphertext(CANNOT_DECRYPT)
        master = AESGCM(self._unwrap(wrapped, blob.key_id, blob.version))
        try:
            plaintext = master.decrypt(
                blob.nonce, blob.sealed, additional_data(context, blob.key_id, blob.version)
            )
        except InvalidTag:
            raise InvalidCiphertext(CANNOT_DECRYPT) from None
        return KmsDataKey(blob.key_id, blob.version, plaintext)
