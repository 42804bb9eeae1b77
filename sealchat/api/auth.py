"""HTTP routes of the embedded identity provider: sign-up, sign-in, refresh, sign-out, discovery.

Mounted only when the server runs its own identity provider; with Cognito or another
OIDC provider, clients get their tokens there and these routes do not exist.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from sealchat.identity.provider import EmbeddedIdentityProvider, TokenPair

# Discovery documents change only with the key; a short cache spares the issuer.
DISCOVERY_CACHE = "public, max-age=300"


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshTokenBody(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=256)


class UserOut(BaseModel):
    id: str
    username: str


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 (a scheme name)
    expires_in: int
    user: UserOut
    # For the key service only (audience SEALCHAT_KMS_AUDIENCE); never send it to the chat API.
    kms_access_token: str | None = None

    @classmethod
    def of(cls, pair: TokenPair) -> TokenResponse:
        return cls(
            access_token=pair.access_token,
            refresh_token=pair.refresh_token,
            expires_in=pair.expires_in,
            user=UserOut(id=pair.user_id, username=pair.username),
            kms_access_token=pair.kms_access_token,
        )


def _no_store(response: Response) -> None:
    # RFC 6749 section 5.1: responses carrying tokens must not be cached anywhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


def build_auth_router(provider: EmbeddedIdentityProvider) -> APIRouter:
    router = APIRouter(tags=["auth"])

    @router.post("/api/auth/register", status_code=201)
    async def register(body: Credentials, response: Response) -> TokenResponse:
        _no_store(response)
        return TokenResponse.of(await provider.register(body.username, body.password))

    @router.post("/api/auth/login")
    async def login(body: Credentials, response: Response) -> TokenResponse:
        _no_store(response)
        return TokenResponse.of(await provider.login(body.username, body.password))

    @router.post("/api/auth/refresh")
    async def refresh(body: RefreshTokenBody, response: Response) -> TokenResponse:
        _no_store(response)
        return TokenResponse.of(await provider.refresh(body.refresh_token))

    @router.post("/api/auth/logout", status_code=204)
    async def logout(body: RefreshTokenBody) -> Response:
        await provider.logout(body.refresh_token)
        return Response(status_code=204)

    @router.get("/.well-known/openid-configuration")
    async def openid_configuration(response: Response) -> dict[str, Any]:
        response.headers["Cache-Control"] = DISCOVERY_CACHE
        return provider.openid_configuration()

    @router.get("/.well-known/jwks.json")
    async def jwks(response: Response) -> dict[str, Any]:
        response.headers["Cache-Control"] = DISCOVERY_CACHE
        return provider.jwks()

    return router
