"""The ciphertext blob of a data key, and the canonical form of an encryption context.

Format 1, all integers big-endian::

    offset  size  field
    0       1     format, 0x01
    1       1     L, length of the key id (1..128)
    2       L     key id, ASCII
    2+L     4     key version (uint32)
    6+L     12    nonce
    18+L    48    AES-256-GCM(master key version, data key) with its 16-byte tag

The additional authenticated data is canonical(encryption context) || key id || the
4-byte version, so a blob opens only with the context it was made with, and its header
cannot be pointed at another key or version.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass

from sealchat.domain.errors import InvalidInput
from sealchat.kms.errors import InvalidCiphertext
from sealchat.kms.models import EncryptionContext

FORMAT_V1 = 0x01
NONCE_BYTES = 12
DATA_KEY_BYTES = 32
SEALED_BYTES = DATA_KEY_BYTES + 16
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9/_-]{1,128}")
MAX_CONTEXT_ENTRIES = 16
MAX_CONTEXT_CHARS = 256


@dataclass(frozen=True, slots=True)
class Blob:
    key_id: str
    version: int
    nonce: bytes
    sealed: bytes

    def encode(self) -> bytes:
        key_id = self.key_id.encode("ascii")
        return (
            bytes([FORMAT_V1, len(key_id)])
            + key_id
            + struct.pack(">I", self.version)
            + self.nonce
            + self.sealed
        )


def check_key_id(key_id: str) -> str:
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise InvalidInput("key_id must be 1-128 characters of A-Z, a-z, 0-9, '/', '_', '-'")
    return key_id


def check_context(context: Mapping[str, object]) -> EncryptionContext:
    """A flat map of strings: at most 16 entries, keys and values of 1-256 characters."""
    if len(context) > MAX_CONTEXT_ENTRIES:
        raise InvalidInput(f"encryption_context has more than {MAX_CONTEXT_ENTRIES} entries")
    for name, value in context.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidInput("encryption_context maps strings to strings")
        if not 0 < len(name) <= MAX_CONTEXT_CHARS or len(value) > MAX_CONTEXT_CHARS:
            raise InvalidInput(
                f"encryption_context keys must be 1-{MAX_CONTEXT_CHARS} characters "
                f"and values at most {MAX_CONTEXT_CHARS}"
            )
    return {name: str(value) for name, value in context.items()}


def canonical_context(context: Mapping[str, str]) -> bytes:
    """UTF-8 JSON with sorted keys and no whitespace: one byte string per context."""
    return json.dumps(
        dict(context), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def additional_data(context: Mapping[str, str], key_id: str, version: int) -> bytes:
    return canonical_context(context) + key_id.encode("ascii") + struct.pack(">I", version)


def parse_blob(data: bytes) -> Blob:
    """The blob's fields; ``InvalidCiphertext`` if it is not a format-1 blob."""
    if len(data) < 2 or data[0] != FORMAT_V1:
        raise InvalidCiphertext("not a ciphertext blob of this key service")
    end_of_id = 2 + data[1]
    if len(data) != end_of_id + 4 + NONCE_BYTES + SEALED_BYTES:
        raise InvalidCiphertext("the ciphertext blob has the wrong length")
    try:
        key_id = check_key_id(data[2:end_of_id].decode("ascii"))
    except (UnicodeDecodeError, InvalidInput):
        raise InvalidCiphertext("the ciphertext blob names an invalid key id") from None
    (version,) = struct.unpack(">I", data[end_of_id : end_of_id + 4])
    nonce_at = end_of_id + 4
    return Blob(
        key_id=key_id,
        version=version,
        nonce=data[nonce_at : nonce_at + NONCE_BYTES],
        sealed=data[nonce_at + NONCE_BYTES :],
    )
