"""Data keys on the client: reuse on the sending side, an unwrap cache on the reading side.

Sending: one data key per room, reused for at most ``max_messages`` messages or
``max_age`` seconds (as the AWS Encryption SDK's caching and Megolm's rotation do), and
retired at once when someone leaves the room, so later messages use a key the leaver
never saw. Reading: unwrapped keys are cached by (room, encrypted data key), so a
history of 1,000 messages costs one unwrap per data key, not one per message.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sealchat.client.key_service import DataKey, KeyService


@dataclass
class KeyServiceCalls:
    """Counters the benchmarks and tests read."""

    generate_data_key: int = 0
    decrypt: int = 0


@dataclass
class _SendingKey:
    data_key: DataKey
    created: float
    uses: int = 0


def room_context(room_id: str) -> dict[str, str]:
    return {"room_id": room_id}


class ClientKeyring:
    def __init__(
        self,
        key_service: KeyService,
        key_id: str,
        *,
        max_messages: int = 100,
        max_age: float = 3600.0,
        max_unwrapped: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.key_service = key_service
        self.key_id = key_id
        self.calls = KeyServiceCalls()
        self._max_messages = max_messages
        self._max_age = max_age
        self._max_unwrapped = max_unwrapped
        self._clock = clock
        self._sending: dict[str, _SendingKey] = {}
        self._unwrapped: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}

    async def key_for_sending(self, room_id: str) -> DataKey:
        """The room's current data key, counting one use; a fresh one when it is spent."""
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            current = self._sending.get(room_id)
            if current is None or not self._usable(current):
                self.calls.generate_data_key += 1
                data_key = await self.key_service.generate_data_key(
                    self.key_id, room_context(room_id)
                )
                current = _SendingKey(data_key, self._clock())
                self._sending[room_id] = current
                self._remember(room_id, data_key.ciphertext_blob, data_key.plaintext)
            current.uses += 1
            return current.data_key

    def retire_sending_key(self, room_id: str) -> None:
        """Someone left the room: the next message gets a new data key."""
        self._sending.pop(room_id, None)

    def retire_all_sending_keys(self) -> None:
        self._sending.clear()

    def forget_room(self, room_id: str) -> None:
        """We left the room: drop every key we hold for it."""
        self.retire_sending_key(room_id)
        for cached in [k for k in self._unwrapped if k[0] == room_id]:
            del self._unwrapped[cached]

    async def unwrap(self, room_id: str, encrypted_data_key: bytes) -> bytes:
        cache_key = (room_id, encrypted_data_key)
        cached = self._unwrapped.get(cache_key)
        if cached is not None:
            self._unwrapped.move_to_end(cache_key)
            return cached
        async with self._locks.setdefault(room_id, asyncio.Lock()):
            cached = self._unwrapped.get(cache_key)  # another reader may have just done it
            if cached is not None:
                return cached
            self.calls.decrypt += 1
            plaintext = await self.key_service.decrypt(encrypted_data_key, room_context(room_id))
            self._remember(room_id, encrypted_data_key, plaintext)
            return plaintext

    def _usable(self, key: _SendingKey) -> bool:
        return key.uses < self._max_messages and self._clock() - key.created < self._max_age

    def _remember(self, room_id: str, encrypted_data_key: bytes, plaintext: bytes) -> None:
        self._unwrapped[(room_id, encrypted_data_key)] = plaintext
        while len(self._unwrapped) > self._max_unwrapped:
            self._unwrapped.popitem(last=False)
