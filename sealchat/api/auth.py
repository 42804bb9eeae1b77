"""HTTP routes of the embedded identity provider: sign-up, sign-in, refresh, sign-out, discovery.

Mounted only when the server runs its own identity provider; with Cognito or another
OIDC provider, clients get their tokens there and these routes do not exist.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from pydantic import BaseModel, Field

from sealchat import metrics
from sealchat.domain.errors import Forbidden, RateLimited, Unauthorized
from sealchat.identity.provider import EmbeddedIdentityProvider, TokenPair
from sealchat.services.rate_limit import TokenBucketLimiter

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


@dataclass(frozen=True)
class AuthPolicy:
    """How the sign-in routes protect themselves (from settings; see SECURITY.md)."""

    cookie_max_age: int = 30 * 24 * 3600  # the refresh token's TTL
    # True when the public URL is https: the refresh cookie is then always ``Secure``,
    # whatever scheme the request arrived with (a TLS proxy in front speaks http to us).
    secure_cookies: bool = False
    # Origins allowed to post to /api/auth besides the request's own origin.
    trusted_origins: frozenset[str] = field(default_factory=frozenset)
    # Sign-ins and sign-ups per client address, taken before any password is hashed.
    rate_per_minute: float = 20.0
    rate_burst: int = 10


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def trusted_origins(public_url: str, extra: Iterable[str] = ()) -> frozenset[str]:
    return frozenset({origin_of(public_url), *(origin_of(o) for o in extra)})


async def require_json(request: Request) -> None:
    """Refuse anything but a JSON body: an HTML form cannot send one, and a cross-origin
    script cannot either without a CORS preflight this server never grants."""
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise HTTPException(415, "send a JSON body (Content-Type: application/json)")


def _check_origin(request: Request, policy: AuthPolicy) -> None:
    """Browsers name the page that made a request; refuse pages of other sites."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise Forbidden("cross-site requests to the sign-in routes are refused")
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a browser (or a very old one): no cookie to abuse without one
    own = origin_of(f"{request.url.scheme}://{request.headers.get('host', '')}")
    if origin.lower() not in policy.trusted_origins | {own}:
        raise Forbidden(f"requests from the origin {origin[:100]!r} are refused")


def address_key(host: str) -> str:
    """The bucket of a client address: the address, or its /64 for IPv6 (one host
    commonly holds a whole /64, and would otherwise get 2**64 buckets)."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


def _no_store(response: Response) -> None:
    # RFC 6749 section 5.1: responses carrying tokens must not be cached anywhere.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


def _issue(
    pair: TokenPair, session: Session, request: Request, response: Response, policy: AuthPolicy
) -> TokenResponse:
    _no_store(response)
    tokens = TokenResponse.of(pair)
    if session == "cookie":
        response.set_cookie(
            REFRESH_COOKIE,
            pair.refresh_token,
            httponly=True,
            samesite="strict",
            secure=policy.secure_cookies or request.url.scheme == "https",
            path=COOKIE_PATH,
            max_age=policy.cookie_max_age,
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
    provider: EmbeddedIdentityProvider,
    policy: AuthPolicy | None = None,
    on_sign_out: Callable[[str], Awaitable[None]] | None = None,
) -> APIRouter:
    """The identity provider's routes; ``on_sign_out(user_id)`` runs after a sign-out
    ended a session (the app disconnects that user's sockets on every node)."""
    policy = policy or AuthPolicy()
    router = APIRouter(tags=["auth"])
    per_address = TokenBucketLimiter(policy.rate_per_minute / 60.0, policy.rate_burst)

    async def guard(request: Request) -> None:
        _check_origin(request, policy)

    async def limit_by_address(request: Request) -> None:
        # async: runs on the event loop, not in a worker thread (the buckets are not locked).
        # Before the password is hashed: hashing is what a flood of guesses costs us.
        address = request.client.host if request.client else "unknown"
        try:
            per_address.check(address_key(address))
        except RateLimited as exc:
            metrics.AUTH_THROTTLED.labels("address_rate").inc()
            raise RateLimited(
                "too many sign-in attempts from this address; try again later",
                retry_after=exc.retry_after,
            ) from None

    checked = [Depends(require_json), Depends(guard)]
    hashing = [*checked, Depends(limit_by_address)]

    @router.post("/api/auth/register", status_code=201, dependencies=hashing)
    async def register(body: Credentials, request: Request, response: Response) -> TokenResponse:
        pair = await provider.register(body.username, body.password)
        return _issue(pair, body.session, request, response, policy)

    @router.post("/api/auth/login", dependencies=hashing)
    async def login(body: Credentials, request: Request, response: Response) -> TokenResponse:
        pair = await provider.login(body.username, body.password)
        return _issue(pair, body.session, request, response, policy)

    @router.post("/api/auth/refresh", dependencies=checked)
    async def refresh(
        body: RefreshTokenBody, request: Request, response: Response
    ) -> TokenResponse:
        token, session = _refresh_token(body, request)
        pair = await provider.refresh(token)
        return _issue(pair, session, request, response, policy)

    @router.post("/api/auth/logout", status_code=204, dependencies=checked)
    async def logout(body: RefreshTokenBody, request: Request) -> Response:
        response = Response(status_code=204)
        try:
            token, _ = _refresh_token(body, request)
        except Unauthorized:
            token = None  # nothing to revoke; signing out is idempotent
        ended = await provider.logout(token) if token is not None else None
        if ended is not None and on_sign_out is not None:
            await on_sign_out(ended)
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
