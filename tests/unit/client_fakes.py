"""Fakes for the client's ports: a key service and a clock (no network)."""

from __future__ import annotations

import os

from sealchat.client.key_service import DataKey


class FakeKeyService:
    """Wraps data keys by XOR with a fixed mask: enough to round-trip, no network."""

    MASK = bytes(range(32))

    def __init__(self) -> None:
        self.generated = 0
        self.decrypted = 0

    async def generate_data_key(self, key_id: str, encryption_context: dict[str, str]) -> DataKey:
        self.generated += 1
        plaintext = os.urandom(32)
        blob = encryption_context["room_id"].encode() + b"|" + self._mask(plaintext)
        return DataKey(key_id, plaintext, blob)

    async def decrypt(self, ciphertext_blob: bytes, encryption_context: dict[str, str]) -> bytes:
        self.decrypted += 1
        room, _, wrapped = ciphertext_blob.partition(b"|")
        assert room.decode() == encryption_context["room_id"]
        return self._mask(wrapped)

    def _mask(self, raw: bytes) -> bytes:
        return bytes(a ^ b for a, b in zip(raw, self.MASK, strict=True))


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
