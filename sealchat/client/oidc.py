"""OpenID Connect sign-in for non-browser clients: the resource-owner password grant.

The browser uses the authorization-code flow with PKCE; a command line has no browser to
redirect, so ``OidcPasswordAuthenticator`` posts the username and password to the provider's
``token_endpoint`` (``grant_type=password``) and refreshes with ``grant_type=refresh_token``.
The provider must allow that grant for the client (Keycloak: "Direct access grants";
many providers refuse it, OAuth 2.1 drops it): otherwise pass an ``Authenticator`` of
your own (e.g. a device-code flow) to ``SealchatClient``.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from sealchat.client.auth import TokenSession
from sealchat.client.errors import ClientError


class OidcPasswordAuthenticator(TokenSession):
    def __init__(
        self,
        *,
        issuer: str,
        client_id: str,
        scopes: str = "openid profile",
        http: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__()
        self._issuer = issuer.rstrip("/")
        self._client_id = client_id
        self._scopes = scopes
        self._http = http or httpx.AsyncClient(timeout=15.0)
        self._token_endpoint: str | None = None

    async def login(self, username: str, password: str) -> None:
        await self._token({"grant_type": "password", "username": username, "password": password})

    async def refresh(self) -> None:
        async with self._refreshing:
            if self.refresh_token is None:
                raise ClientError("unauthorized", "not signed in")
            await self._token({"grant_type": "refresh_token", "refresh_token": self.refresh_token})

    async def sign_out(self) -> None:
        self.forget()

    async def kms_token(self) -> str:
        """The embedded key service accepts the provider's token (docs/protocol.md §2.6)."""
        return await self.access_token()

    async def close(self) -> None:
        await self._http.aclose()

    async def _endpoint(self) -> str:
        if self._token_endpoint is None:
            document = await self._get_json(f"{self._issuer}/.well-known/openid-configuration")
            endpoint = document.get("token_endpoint")
            if document.get("issuer", "").rstrip("/") != self._issuer or not isinstance(
                endpoint, str
            ):
                raise ClientError("unavailable", "the provider's configuration does not fit")
            self._token_endpoint = endpoint
        return self._token_endpoint

    async def _token(self, form: dict[str, str]) -> None:
        body = {**form, "client_id": self._client_id, "scope": self._scopes}
        try:
            response = await self._http.post(await self._endpoint(), data=body)
        except httpx.HTTPError as exc:
            raise ClientError("unavailable", f"cannot reach the identity provider: {exc}") from exc
        reply = _json(response)
        if response.status_code in (400, 401):
            reason = reply.get("error_description") or reply.get("error") or "refused"
            raise ClientError("unauthorized", f"the identity provider refused: {reason}")
        if response.is_error or "access_token" not in reply:
            raise ClientError(
                "unavailable", f"the identity provider answered {response.status_code}"
            )
        self.access_token_value = str(reply["access_token"])
        self.refresh_token = reply.get("refresh_token", self.refresh_token)
        self.lifetime = float(reply.get("expires_in", 300))
        self.expires_at = time.time() + self.lifetime

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
        except httpx.HTTPError as exc:
            raise ClientError("unavailable", f"cannot reach the identity provider: {exc}") from exc
        if response.is_error:
            raise ClientError("unavailable", f"{url} answered {response.status_code}")
        return _json(response)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
