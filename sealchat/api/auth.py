"""HTTP routes of the embedded identity provider: sign-up, sign-in, refresh, sign-out, discovery.

Mounted only when the server runs its own identity provider; with Cognito or another
OIDC provider, clients get their tokens there and these routes do not exist.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from sealchat.domain.errors import Unauthorized
from sealchat.identity.provider import EmbeddedIdentityProvider, TokenPair

# Browsers keep the refresh token in this cookie: httpOnly (no script can read it),
# SameSite=Strict (no other site can make the browser send it), scoped to /api/auth.
REFRESH_COOKIE = "sealchat_refresh"
COOKIE_PATH = "/api/auth"
Session = Literal["body", "cookie"]

# Discovery documents change only with the key; a short cache spares the issuer.
DISCOVERY_CACHE = "public, max-age=300"


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)
    # "cookie": the refresh token goes into an httpOnly cookie, not the JSON body.
    session: Session = "body"


class RefreshTokenBody(BaseModel):
    # Absent: the refresh token comes from the cookie (browsers).
    refresh_token: str | None = Field(default=None, min_length=1, max_length=256)
    session: Session | None = None


class UserOut(BaseModel):
    id: str
    username: str


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str | None
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


def _issue(
    pair: TokenPair, session: Session, request: Request, response: Response, max_age: int
) -> TokenResponse:
    _no_store(response)
    tokens = TokenResponse.of(pair)
    if session == "cookie":
        response.set_cookie(
            REFRESH_COOKIE,
            pair.refresh_token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path=COOKIE_PATH,
            max_age=max_age,
        )
        tokens.refresh_token = None
    return tokens


def _refresh_token(body: RefreshTokenBody, request: Request) -> tuple[str, Session]:
    if body.refresh_token is not None:
        return body.refresh_token, body.session or "body"
    cookie = request.cookies.get(REFRESH_COOKIE)
    if not cookie:
        raise Unauthorized("no refresh token: sign in again")
    return cookie, "cookie"


def build_auth_router(
    provider: EmbeddedIdentityProvider, cookie_max_age: int = 30 * 24 * 3600
) -> APIRouter:
    """``cookie_max_age``: the refresh cookie's lifetime (the refresh token's TTL)."""
    router = APIRouter(tags=["auth"])

    @router.post("/api/auth/register", status_code=201)
    async def register(body: Credentials, request: Request, response: Response) -> TokenResponse:
        pair = await provider.register(body.username, body.password)
        return _issue(pair, body.session, request, response, cookie_max_age)

    @router.post("/api/auth/login")
    async def login(body: Credentials, request: Request, response: Response) -> TokenResponse:
        pair = await provider.login(body.username, body.password)
        return _issue(pair, body.session, request, response, cookie_max_age)

    @router.post("/api/auth/refresh")
    async def refresh(
        request: Request, response: Response, body: RefreshTokenBody | None = None
    ) -> TokenResponse:
        token, session = _refresh_token(body or RefreshTokenBody(), request)
        pair = await provider.refresh(token)
        return _issue(pair, session, request, response, cookie_max_age)

    @router.post("/api/auth/logout", status_code=204)
    async def logout(request: Request, body: RefreshTokenBody | None = None) -> Response:
        response = Response(status_code=204)
        try:
            token, _ = _refresh_token(body or RefreshTokenBody(), request)
        except Unauthorized:
            token = None  # nothing to revoke; signing out is idempotent
        if token is not None:
            await provider.logout(token)
        response.delete_cookie(REFRESH_COOKIE, path=COOKIE_PATH)
        return response

    @router.get("/.well-known/openid-configuration")
    async def openid_configuration(response: Response) -> dict[str, Any]:
        response.headers["Cache-Control"] = DISCOVERY_CACHE
        return provider.openid_configuration()

    @router.get("/.well-known/jwks.json")
    async def jwks(response: Response) -> dict[str, Any]:
        response.headers["Cache-Control"] = DISCOVERY_CACHE
        return provider.jwks()

    return router
