"""Deliver room-access revocations to the key service: in process, or over HTTP."""

from __future__ import annotations

import httpx

from sealchat.domain.errors import Unavailable
from sealchat.kms.service import KeyService
from sealchat.services.grants import GrantSigner


class InProcessRevoker:
    """For the key service mounted in this process; the notice is still signed and checked
    exactly as one arriving over HTTP."""

    def __init__(self, key_service: KeyService, signer: GrantSigner) -> None:
        self._key_service = key_service
        self._signer = signer

    async def revoke(self, user_id: str, room_id: str) -> None:
        await self._key_service.revoke_room_access(self._signer.revocation(user_id, room_id))


class HttpRevoker:
    """For a key service running as its own process (``sealchat kms serve``)."""

    def __init__(self, kms_url: str, signer: GrantSigner, timeout: float = 5.0) -> None:
        self._url = f"{kms_url.rstrip('/')}/revocations"
        self._signer = signer
        self._timeout = timeout

    async def revoke(self, user_id: str, room_id: str) -> None:
        notice = self._signer.revocation(user_id, room_id)
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(self._url, json={"revocation": notice})
        except httpx.HTTPError as exc:
            raise Unavailable(f"the key service is unreachable: {exc}") from exc
        if response.status_code != 204:
            raise Unavailable(f"the key service refused the revocation ({response.status_code})")
