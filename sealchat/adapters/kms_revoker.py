"""Deliver signed revocation notices to the key service: in process, or over HTTP.

These only carry one notice; ``services.revocations.RevocationDelivery`` keeps the
notices in the outbox and retries them until they are accepted.
"""

from __future__ import annotations

import httpx

from sealchat.domain.errors import RateLimited, Unavailable
from sealchat.kms.service import KmsService


class InProcessRevoker:
    """For the key service mounted in this process; the notice is still signed and checked
    exactly as one arriving over HTTP."""

    def __init__(self, key_service: KmsService) -> None:
        self._key_service = key_service

    async def send(self, notice: str) -> None:
        await self._key_service.revoke_room_access(notice)


class HttpRevoker:
    """For a key service running as its own process (``sealchat kms serve``)."""

    def __init__(self, kms_url: str, timeout: float = 5.0) -> None:
        self._url = f"{kms_url.rstrip('/')}/revocations"
        self._timeout = timeout

    async def send(self, notice: str) -> None:
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(self._url, json={"revocation": notice})
        except httpx.HTTPError as exc:
            raise Unavailable(f"the key service is unreachable: {exc!r}") from exc
        if response.status_code == 204:
            return
        if response.status_code == 429:
            retry_after = _seconds(response.headers.get("retry-after"))
            raise RateLimited("the key service asked to retry the revocation later", retry_after)
        raise Unavailable(f"the key service refused the revocation ({response.status_code})")


def _seconds(header: str | None) -> float:
    try:
        return max(0.0, float(header)) if header else 1.0
    except ValueError:
        return 1.0


class NoRevoker:
    """For AWS KMS: there is no key service of ours to tell; AWS KMS checks no membership
    (docs/aws.md says what that means)."""

    async def send(self, notice: str) -> None:
        return None
