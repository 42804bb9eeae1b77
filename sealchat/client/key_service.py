"""The client's key-service port, shaped like AWS KMS, and the embedded KMS's HTTP adapter.

``generate_data_key(key_id, encryption_context) -> DataKey`` and
``decrypt(ciphertext_blob, encryption_context) -> bytes``; the encryption context names
the room (``{"room_id": ...}``) and is bound into the wrap, as in AWS KMS.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from sealchat.client.errors import ClientError


@dataclass(frozen=True, slots=True)
class DataKey:
    key_id: str
    plaintext: bytes
    ciphertext_blob: bytes


class KeyService(Protocol):
    async def generate_data_key(self, key_id: str, encryption_context: dict[str, str]) -> DataKey:
        """A fresh 256-bit data key, in plaintext and wrapped under ``key_id``."""

    async def decrypt(self, ciphertext_blob: bytes, encryption_context: dict[str, str]) -> bytes:
        """Unwrap a data key; the context must equal the one it was generated with."""


TokenSource = Callable[[], Awaitable[str]]
GrantSource = Callable[[str], Awaitable[str]]


class EmbeddedKmsClient:
    """Talks to Sealchat's key service. Each call carries the caller's key-service token
    and a room-access grant from the chat server for the context's room."""

    def __init__(
        self,
        kms_url: str,
        token: TokenSource,
        grant: GrantSource,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._url = kms_url.rstrip("/")
        self._token = token
        self._grant = grant
        self._http = http or httpx.AsyncClient(timeout=15.0)
        self._owns_http = http is None

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def generate_data_key(self, key_id: str, encryption_context: dict[str, str]) -> DataKey:
        body = await self._call("/generate-data-key", {"key_id": key_id}, encryption_context)
        return DataKey(
            key_id=body["key_id"],
            plaintext=base64.b64decode(body["plaintext"]),
            ciphertext_blob=base64.b64decode(body["ciphertext_blob"]),
        )

    async def decrypt(self, ciphertext_blob: bytes, encryption_context: dict[str, str]) -> bytes:
        blob = base64.b64encode(ciphertext_blob).decode("ascii")
        body = await self._call("/decrypt", {"ciphertext_blob": blob}, encryption_context)
        return base64.b64decode(body["plaintext"])

    async def _call(
        self, path: str, fields: dict[str, Any], encryption_context: dict[str, str]
    ) -> dict[str, Any]:
        room_id = encryption_context.get("room_id")
        if not room_id:
            raise ClientError("invalid_input", "the encryption context must name the room")
        payload = {
            **fields,
            "encryption_context": encryption_context,
            "grant": await self._grant(room_id),
        }
        headers = {"Authorization": f"Bearer {await self._token()}"}
        try:
            response = await self._http.post(f"{self._url}{path}", json=payload, headers=headers)
        except httpx.HTTPError as exc:
            raise ClientError("kms_unavailable", f"the key service is unreachable: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_error:
            error = ClientError.from_body(body, response.status_code)
            if response.status_code >= 500:
                error.code = "kms_unavailable"
            raise error
        if not isinstance(body, dict):
            raise ClientError("kms_unavailable", "the key service sent an unexpected reply")
        return body
