"""The REST transport: JSON over httpx with the access token, errors as ``ClientError``.

Each call is one request; the only policy here is "on ``token_expired``, refresh once and
retry". Sign-in is the ``Authenticator``'s business (auth.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx

from sealchat.client.auth import Authenticator, EmbeddedAuthenticator
from sealchat.client.errors import ClientError


class RestTransport:
    def __init__(
        self,
        base_url: str,
        http: httpx.AsyncClient | None = None,
        authenticator: Authenticator | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = http or httpx.AsyncClient(base_url=self.base_url, timeout=30.0)
        self._owns_http = http is None
        self.authenticator: Authenticator = authenticator or EmbeddedAuthenticator(self.public_post)

    async def close(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # The embedded provider's tokens, read by tests and tools that talk to the server raw.
    @property
    def access_token(self) -> str | None:
        return getattr(self.authenticator, "access_token_value", None)

    @property
    def kms_access_token(self) -> str | None:
        return getattr(self.authenticator, "kms_access_token", None)

    @property
    def user(self) -> dict[str, Any] | None:
        return self.authenticator.user

    async def public_get(self, path: str) -> Any:
        return await self._call("GET", path)

    async def public_post(self, path: str, body: dict[str, Any]) -> Any:
        return await self._call("POST", path, json=body)

    async def get(self, path: str, **params: Any) -> Any:
        query = {key: value for key, value in params.items() if value is not None}
        return await self.authed("GET", path, params=query)

    async def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return await self.authed("POST", path, json=body or {})

    async def delete(self, path: str) -> Any:
        return await self.authed("DELETE", path)

    async def authed(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call with the access token; on ``token_expired`` refresh once and retry."""
        token = await self.authenticator.access_token()
        try:
            return await self._call(method, path, token=token, **kwargs)
        except ClientError as exc:
            # No refresh token (an embedded session without one): the refusal stands.
            no_refresh = getattr(self.authenticator, "refresh_token", "") is None
            if exc.code != "token_expired" or no_refresh:
                raise
        await self.authenticator.refresh()
        token = await self.authenticator.access_token()
        return await self._call(method, path, token=token, **kwargs)

    async def post_stream(
        self, path: str, body: Callable[[], AsyncIterator[bytes]], length: int
    ) -> Any:
        """POST a streamed body of ``length`` bytes (``body()`` makes a fresh stream:
        on ``token_expired`` the token is refreshed and the body sent again)."""
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(length)}
        for attempt in (1, 2):
            token = await self.authenticator.access_token()
            try:
                return await self._call("POST", path, token, content=body(), headers=headers)
            except ClientError as exc:
                if attempt == 2 or exc.code != "token_expired":
                    raise
                await self.authenticator.refresh()
        raise AssertionError("unreachable")  # pragma: no cover

    @asynccontextmanager
    async def stream_get(
        self, path: str, headers: dict[str, str] | None = None
    ) -> AsyncIterator[httpx.Response]:
        """GET a streamed response (read it with ``aiter_bytes``); errors as ``ClientError``."""
        token = await self.authenticator.access_token()
        sent = {**(headers or {}), "Authorization": f"Bearer {token}"}
        try:
            async with self._http.stream("GET", path, headers=sent) as response:
                if response.is_error:
                    await response.aread()
                    try:
                        body = response.json()
                    except ValueError:
                        body = None
                    raise ClientError.from_body(body, response.status_code)
                yield response
        except httpx.HTTPError as exc:
            raise ClientError("unavailable", f"cannot reach the server: {exc}") from exc

    async def _call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = {
            **kwargs.pop("headers", {}),
            **({"Authorization": f"Bearer {token}"} if token else {}),
        }
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
