"""A session that lives in a ``SessionStore`` (``sealchat login``): the embedded
provider's, or an OIDC or Cognito one (``StoredProviderRefresh``).

Every refresh takes the profile's lock, reads the newest refresh token (another process
may have rotated it), trades it at ``/api/auth/refresh`` and stores the new one before
letting go, so no process ever presents a token that is already spent (which would end the
session for all of them). A refusal means the session is over (signed out, expired,
revoked): the profile is forgotten and the caller is told to sign in again.
"""

from __future__ import annotations

from dataclasses import replace

from sealchat.client.auth import EmbeddedAuthenticator, PostJson, TokenSession
from sealchat.client.aws import CognitoAuthenticator
from sealchat.client.errors import ClientError
from sealchat.client.oidc import OidcPasswordAuthenticator
from sealchat.client.session_store import SessionStore, StoredSession


class StoredSessionAuthenticator(EmbeddedAuthenticator):
    def __init__(self, post: PostJson, store: SessionStore, profile: str) -> None:
        super().__init__(post)
        self.store = store
        self.profile = profile

    async def resume(self) -> StoredSession:
        """Start from the stored session: one refresh (which rotates the token)."""
        await self.refresh()
        stored = self.store.load(self.profile)
        assert stored is not None
        return stored

    async def refresh(self) -> None:
        async with self._refreshing, self.store.locked(self.profile):
            stored = self.store.load(self.profile)
            if stored is None:
                raise ClientError("unauthorized", self._sign_in_again("is not signed in"))
            try:
                body = await self._post(
                    "/api/auth/refresh", {"refresh_token": stored.refresh_token}
                )
            except ClientError as exc:
                if exc.code != "unauthorized":
                    raise
                self.store.delete(self.profile)
                raise ClientError(
                    "unauthorized",
                    self._sign_in_again("has ended (signed out, expired or revoked)"),
                ) from exc
            self._take_tokens(body)
            assert self.refresh_token is not None and self.user is not None
            self.store.save(
                self.profile,
                replace(
                    stored,
                    refresh_token=self.refresh_token,
                    username=self.user["username"],
                    user_id=self.user["id"],
                ),
            )

    async def sign_out(self) -> None:
        """Revoke the session at the server, then forget it here."""
        async with self._refreshing, self.store.locked(self.profile):
            stored = self.store.load(self.profile)
            token = stored.refresh_token if stored is not None else self.refresh_token
            if token is not None:
                await self._post("/api/auth/logout", {"refresh_token": token})
            self.store.delete(self.profile)
        self.forget()

    def _sign_in_again(self, what: str) -> str:
        return _sign_in_again(self.profile, what)


class StoredProviderRefresh(TokenSession):
    """An OIDC or Cognito sign-in whose refresh token lives in a ``SessionStore``: each
    refresh takes the profile's lock, starts from the stored (newest) token and stores the
    one the provider returns (OIDC providers may rotate it), as for the embedded provider."""

    store: SessionStore | None = None
    profile: str = "default"

    def keep_in(self, store: SessionStore, profile: str) -> None:
        self.store, self.profile = store, profile

    async def refresh(self) -> None:
        store = self.store
        if store is None:
            await super().refresh()
            return
        async with store.locked(self.profile):
            stored = store.load(self.profile)
            if stored is None:
                raise ClientError("unauthorized", _sign_in_again(self.profile, "is not signed in"))
            self.refresh_token = stored.refresh_token
            try:
                await super().refresh()
            except ClientError as exc:
                if exc.code != "unauthorized":
                    raise
                store.delete(self.profile)
                raise ClientError(
                    "unauthorized",
                    _sign_in_again(self.profile, "has ended (signed out, expired or revoked)"),
                ) from exc
            if self.refresh_token != stored.refresh_token and self.refresh_token is not None:
                store.save(self.profile, replace(stored, refresh_token=self.refresh_token))


class StoredOidcSession(StoredProviderRefresh, OidcPasswordAuthenticator):
    """OIDC (password grant), its session kept by ``sealchat login``."""


class StoredCognitoSession(StoredProviderRefresh, CognitoAuthenticator):
    """Cognito, its session kept by ``sealchat login``."""


def _sign_in_again(profile: str, what: str) -> str:
    flag = "" if profile == "default" else f" --profile {profile}"
    return f"the session of profile {profile!r} {what}: run `sealchat login{flag}`"
