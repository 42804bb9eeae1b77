"""HTTP half of the client: tokens (with refresh) and the REST routes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from sealchat.client.errors import ClientError


class HttpApi:
    def __init__(self, base_url: str, http: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(base_url=self.base_url, timeout=30.0)
        self._owns_http = http is None
        self.access_token: str | None = None
        self.kms_access_token: str | None = None
        self.refresh_token: str | None = None
        self.expires_at: float = 0.0
        self.lifetime: float = 0.0
        self.user: dict[str, Any] | None = None
        self._refreshing = asyncio.Lock()

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- tokens ------------------------------------------------------------------------

    async def register(self, username: str, password: str) -> dict[str, Any]:
        body = {"username": username, "password": password}
        return self._take_tokens(await self._call("POST", "/api/auth/register", json=body))

    async def login(self, username: str, password: str) -> dict[str, Any]:
        body = {"username": username, "password": password}
        return self._take_tokens(await self._call("POST", "/api/auth/login", json=body))

    async def refresh(self) -> None:
        """Trade the refresh token for a new pair (the old one is spent)."""
        async with self._refreshing:
            if self.refresh_token is None:
                raise ClientError("unauthorized", "not signed in")
            body = {"refresh_token": self.refresh_token}
            self._take_tokens(await self._call("POST", "/api/auth/refresh", json=body))

    async def logout(self) -> None:
        if self.refresh_token is not None:
            body = {"refresh_token": self.refresh_token}
            await self._call("POST", "/api/auth/logout", json=body)
        self.access_token = self.refresh_token = None
        self.user = None

    async def fresh_access_token(self, min_fraction_left: float = 0.2) -> str:
        """An access token with at least that share of its lifetime (at most 30 s) left."""
        if self.access_token is None:
            raise ClientError("unauthorized", "not signed in")
        margin = min(30.0, self.lifetime * min_fraction_left)
        if self.expires_at - time.time() < margin and self.refresh_token is not None:
            await self.refresh()
        assert self.access_token is not None
        return self.access_token

    async def fresh_kms_token(self) -> str:
        """The key-service token (audience: the key service), refreshed with the pair."""
        await self.fresh_access_token()
        if self.kms_access_token is None:
            raise ClientError("unauthorized", "the identity provider issued no key-service token")
        return self.kms_access_token

    async def public_get(self, path: str) -> Any:
        return await self._call("GET", path)

    def _take_tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        self.access_token = body["access_token"]
        self.kms_access_token = body.get("kms_access_token")
        self.refresh_token = body["refresh_token"]
        self.lifetime = float(body["expires_in"])
        self.expires_at = time.time() + self.lifetime
        self.user = body["user"]
        return body["user"]  # type: ignore[no-any-return]

    # -- authenticated calls -------------------------------------------------------------

    async def get(self, path: str, **params: Any) -> Any:
        query = {key: value for key, value in params.items() if value is not None}
        return await self.authed("GET", path, params=query)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.authed("POST", path, json=body or {})

    async def delete(self, path: str) -> Any:
        return await self.authed("DELETE", path)

    async def authed(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call with the access token; on ``token_expired`` refresh once and retry."""
        token = await self.fresh_access_token()
        try:
            return await self._call(method, path, token=token, **kwargs)
        except ClientError as exc:
            if exc.code != "token_expired" or self.refresh_token is None:
                raise
        await self.refresh()
        return await self._call(method, path, token=self.access_token, **kwargs)

    async def _call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as exc:
            raise ClientError("unavailable", f"cannot reach the server: {exc}") from exc
        if response.status_code == 204:
            return None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_error:
            raise ClientError.from_body(body, response.status_code)
        return body
