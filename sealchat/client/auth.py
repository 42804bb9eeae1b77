"""Sign-in behind a port: where the client's tokens come from.

``Authenticator`` is what the transports need (a fresh access token, the key-service
token, a refresh); ``EmbeddedAuthenticator`` implements it against Sealchat's embedded
identity provider (``/api/auth/*``). Cognito and OIDC implement the same port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sealchat.client.errors import ClientError

PostJson = Callable[[str, dict[str, Any]], Awaitable[Any]]


class Authenticator(Protocol):
    @property
    def user(self) -> dict[str, Any] | None:
        """The signed-in account ``{id, username}``, or None."""

    async def access_token(self, min_fraction_left: float = 0.2) -> str:
        """An access token with at least that share of its lifetime (at most 30 s) left."""

    async def kms_token(self) -> str:
        """A token for the key service (its own audience)."""

    async def refresh(self) -> None:
        """Get new tokens now."""

    async def sign_out(self) -> None:
        """End the session at the provider; forget the tokens."""


class TokenSession:
    """The token state every authenticator keeps: the current access and refresh tokens,
    when the access token expires, and a lock so concurrent callers refresh once.
    Subclasses implement ``refresh``; ``access_token`` refreshes ahead of expiry."""

    def __init__(self) -> None:
        self.access_token_value: str | None = None
        self.refresh_token: str | None = None
        self.expires_at: float = 0.0
        self.lifetime: float = 0.0
        self._user: dict[str, Any] | None = None
        self._refreshing = asyncio.Lock()

    @property
    def user(self) -> dict[str, Any] | None:
        return self._user

    def set_user(self, user: dict[str, Any]) -> None:
        """The profile the chat server made of our token (its normalized username)."""
        self._user = user

    async def refresh(self) -> None:
        raise NotImplementedError

    def forget(self) -> None:
        self.access_token_value = self.refresh_token = None
        self._user = None

    async def access_token(self, min_fraction_left: float = 0.2) -> str:
        if self.access_token_value is None:
            raise ClientError("unauthorized", "not signed in")
        margin = min(30.0, self.lifetime * min_fraction_left)
        if self.expires_at - time.time() < margin and self.refresh_token is not None:
            await self.refresh()
        assert self.access_token_value is not None
        return self.access_token_value


class EmbeddedAuthenticator(TokenSession):
    """The embedded identity provider: username and password, a rotating refresh token."""

    def __init__(self, post: PostJson) -> None:
        super().__init__()
        self._post = post
        self.kms_access_token: str | None = None

    async def register(self, username: str, password: str) -> dict[str, Any]:
        body = {"username": username, "password": password}
        return self._take_tokens(await self._post("/api/auth/register", body))

    async def login(self, username: str, password: str) -> dict[str, Any]:
        body = {"username": username, "password": password}
        return self._take_tokens(await self._post("/api/auth/login", body))

    async def refresh(self) -> None:
        """Trade the refresh token for a new pair (the old one is spent)."""
        async with self._refreshing:
            if self.refresh_token is None:
                raise ClientError("unauthorized", "not signed in")
            body = {"refresh_token": self.refresh_token}
            self._take_tokens(await self._post("/api/auth/refresh", body))

    async def sign_out(self) -> None:
        if self.refresh_token is not None:
            await self._post("/api/auth/logout", {"refresh_token": self.refresh_token})
        self.forget()

    async def kms_token(self) -> str:
        """The key-service token (audience: the key service), refreshed with the pair."""
        await self.access_token()
        if self.kms_access_token is None:
            raise ClientError("unauthorized", "the identity provider issued no key-service token")
        return self.kms_access_token

    def _take_tokens(self, body: dict[str, Any]) -> dict[str, Any]:
        self.access_token_value = body["access_token"]
        self.kms_access_token = body.get("kms_access_token")
        self.refresh_token = body["refresh_token"]
        self.lifetime = float(body["expires_in"])
        self.expires_at = time.time() + self.lifetime
        self._user = body["user"]
        return body["user"]  # type: ignore[no-any-return]
