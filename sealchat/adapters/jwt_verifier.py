"""Verify access tokens against an issuer's JWKS: the embedded provider's, Cognito's, any OIDC's.

The chat server trusts only the issuer, the audience, an allow-list of asymmetric
algorithms and the published public keys. The algorithm a token claims must be allowed
and must match the key its ``kid`` names, which shuts out ``alg: none`` and the classic
key-confusion attack (an HMAC token "signed" with a public key).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import httpx
import jwt

from sealchat.domain.errors import TokenExpired, Unauthorized, Unavailable
from sealchat.ports.tokens import VerifiedIdentity

log = logging.getLogger(__name__)

# The asymmetric algorithms we accept at all, with the key type each needs.
KEY_TYPE_OF_ALGORITHM = {
    "EdDSA": "OKP",
    **{f"{family}{bits}": "RSA" for family in ("RS", "PS") for bits in (256, 384, 512)},
    "ES256": "EC",
    "ES384": "EC",
    "ES512": "EC",
}
REQUIRED_CLAIMS = ["exp", "iat", "sub", "iss"]
# What aws-jwt-verify requires of Cognito tokens (and OIDC of ID tokens): ``iat`` is
# checked when present but not required (moto's Cognito tokens have none).
EXTERNAL_REQUIRED_CLAIMS = ["exp", "sub", "iss"]
USERNAME_CLAIMS = ("username", "cognito:username", "preferred_username")
COGNITO_USERNAME_CLAIMS = ("cognito:username", "username")
OIDC_USERNAME_CLAIMS = ("preferred_username", "email", "sub")
_NOT_IN_USERNAME = re.compile(r"[^a-z0-9._-]+")


def external_username(raw: str) -> str:
    """A chat username from an external provider's claim: lower-case, characters outside
    ``[a-z0-9._-]`` become ``-``, at most 32 characters (``Alice@Example.com`` ->
    ``alice-example.com``). A name another user already has is refused (``conflict``)."""
    name = _NOT_IN_USERNAME.sub("-", raw.strip().lower()).strip("-._")[:32]
    return name if len(name) >= 2 else f"user-{name}" if name else ""


Jwk = Mapping[str, Any]


class JwksSource(Protocol):
    async def find_key(self, kid: str) -> Jwk | None:
        """The JWK with this key id, or None. Raises ``Unavailable`` if keys cannot be had."""


def _key_in(jwks: Mapping[str, Any], kid: str) -> Jwk | None:
    keys = jwks.get("keys")
    if not isinstance(keys, list):
        return None
    return next((k for k in keys if isinstance(k, Mapping) and k.get("kid") == kid), None)


class StaticJwks:
    """Keys from a function in the same process (the all-in-one server's embedded issuer)."""

    def __init__(self, get_jwks: Callable[[], Mapping[str, Any]]) -> None:
        self._get_jwks = get_jwks

    async def find_key(self, kid: str) -> Jwk | None:
        return _key_in(self._get_jwks(), kid)


class HttpJwks:
    """Keys fetched from a ``jwks_uri`` and cached for ``ttl`` seconds.

    An unknown ``kid`` (the issuer may have rotated its key) triggers a refetch, at most
    once per ``refetch_interval`` seconds, so tokens with made-up key ids cannot make us
    hammer the issuer. After a failed fetch, callers get ``Unavailable`` at once for
    ``retry_interval`` seconds instead of each waiting out another timeout.
    """

    def __init__(
        self,
        url: str,
        http_client: httpx.AsyncClient | None = None,
        ttl: float = 300.0,
        *,
        refetch_interval: float = 30.0,
        retry_interval: float = 5.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url
        self._client = http_client
        self._ttl = ttl
        self._refetch_interval = refetch_interval
        self._retry_interval = retry_interval
        self._timeout = timeout
        self._clock = clock
        self._jwks: Mapping[str, Any] = {}
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()

    async def find_key(self, kid: str) -> Jwk | None:
        if self._is_stale():
            await self._refresh(self._is_stale)
        key = _key_in(self._jwks, kid)
        if key is None and self._may_refetch():
            await self._refresh(self._may_refetch)
            key = _key_in(self._jwks, kid)
        return key

    def _age(self) -> float:
        return float("inf") if self._fetched_at is None else self._clock() - self._fetched_at

    def _is_stale(self) -> bool:
        return self._age() >= self._ttl

    def _may_refetch(self) -> bool:
        return self._age() >= self._refetch_interval

    async def _refresh(self, still_needed: Callable[[], bool]) -> None:
        async with self._lock:  # one fetch at a time
            if not still_needed():
                return  # a caller ahead of us in the queue has just fetched
            if (
                self._failed_at is not None
                and self._clock() - self._failed_at < self._retry_interval
            ):
                raise Unavailable("the identity provider's keys are unavailable")
            try:
                self._jwks = await self._fetch()
            except Unavailable:
                self._failed_at = self._clock()
                raise
            self._fetched_at, self._failed_at = self._clock(), None

    async def _fetch(self) -> Mapping[str, Any]:
        try:
            if self._client is not None:
                response = await self._client.get(self._url, timeout=self._timeout)
            else:
                async with httpx.AsyncClient(timeout=self._timeout) as client:
                    response = await client.get(self._url)
            response.raise_for_status()
            jwks = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("cannot fetch the JWKS from %s: %s", self._url, type(exc).__name__)
            raise Unavailable("the identity provider's keys are unavailable") from exc
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise Unavailable("the identity provider published an invalid JWKS")
        return jwks


class JwksTokenVerifier:
    """``TokenVerifier`` for JWT access tokens signed with keys from a JWKS."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksSource,
        algorithms: Iterable[str] = ("EdDSA", "RS256"),
        leeway: float = 5.0,
        token_uses: Iterable[str] = ("access",),
        require_token_use: bool = False,
        username_claims: Sequence[str] = USERNAME_CLAIMS,
        normalize_username: bool = False,
        required_claims: Sequence[str] = REQUIRED_CLAIMS,
    ) -> None:
        """``token_uses``: the ``token_use`` values accepted when a token has one (Cognito:
        ``access`` checks ``client_id``, ``id`` checks ``aud``); ``require_token_use``
        refuses tokens without it (Cognito's always carry it). The first of
        ``username_claims`` present names the user."""
        allowed = list(algorithms)
        for alg in allowed:
            if alg.lower() == "none" or alg.upper().startswith("HS"):
                raise ValueError(f"refusing to accept {alg!r} tokens: only asymmetric signatures")
            if alg not in KEY_TYPE_OF_ALGORITHM:
                raise ValueError(f"unsupported token algorithm {alg!r}")
        if not allowed:
            raise ValueError("at least one token algorithm must be allowed")
        self._issuer = issuer
        self._audience = audience
        self._jwks = jwks
        self._algorithms = frozenset(allowed)
        self._leeway = leeway
        self._token_uses = frozenset(token_uses)
        self._require_token_use = require_token_use
        self._username_claims = tuple(username_claims)
        self._normalize_username = normalize_username
        self._required_claims = list(required_claims)

    async def verify(self, token: str) -> VerifiedIdentity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("malformed access token") from None
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("access token has no key id")
        if alg not in self._algorithms:
            raise Unauthorized("access token algorithm is not allowed")
        jwk = await self._jwks.find_key(kid)
        if jwk is None:
            raise Unauthorized("access token is signed by an unknown key")
        if (
            jwk.get("kty") != KEY_TYPE_OF_ALGORITHM[alg]
            or jwk.get("alg", alg) != alg
            or (alg == "EdDSA" and jwk.get("crv") not in ("Ed25519", "Ed448"))
        ):
            raise Unauthorized("access token algorithm does not match its key")
        if jwk.get("use", "sig") != "sig":
            raise Unauthorized("access token is signed by a key not meant for signing")
        try:
            key = jwt.PyJWK(dict(jwk), algorithm=alg)
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                issuer=self._issuer,
                leeway=self._leeway,
                # The audience is checked below: Cognito access tokens carry it as client_id.
                options={"require": self._required_claims, "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("access token expired") from None
        except jwt.InvalidIssuerError:
            raise Unauthorized("access token is from another issuer") from None
        except jwt.PyJWTError:
            raise Unauthorized("invalid access token") from None
        return self._identity(claims)

    def _identity(self, claims: Mapping[str, Any]) -> VerifiedIdentity:
        token_use = claims.get("token_use")
        if token_use is None and self._require_token_use:
            raise Unauthorized("token has no token_use")
        if token_use is not None and token_use not in self._token_uses:
            raise Unauthorized(f"not an access token: {token_use!r} tokens are not accepted here")
        if not self._audience_matches(claims, token_use):
            raise Unauthorized("access token is for another audience")
        user_id = claims["sub"]
        username = next((claims[c] for c in self._username_claims if claims.get(c)), None)
        if isinstance(username, str) and self._normalize_username:
            username = external_username(username)
        if not isinstance(user_id, str) or not user_id or not isinstance(username, str):
            raise Unauthorized("access token has no subject or username")
        if not username:
            raise Unauthorized("access token has no usable username")
        issued_at = claims.get("iat")
        return VerifiedIdentity(
            user_id=user_id,
            username=username,
            expires_at=float(claims["exp"]),
            issued_at=float(issued_at) if isinstance(issued_at, int | float) else 0.0,
        )

    def _audience_matches(self, claims: Mapping[str, Any], token_use: Any) -> bool:
        # RFC 7519 ``aud`` when present (string or list); Cognito access tokens have no
        # ``aud`` and name their app client in ``client_id`` instead; Cognito ID tokens
        # must name it in ``aud`` (as aws-jwt-verify checks).
        audience = claims.get("aud")
        if token_use == "access" and audience is None:  # noqa: S105
            return claims.get("client_id") == self._audience
        if token_use == "id" and audience is None:  # noqa: S105
            return False
        if audience is None:
            return claims.get("client_id") == self._audience
        if isinstance(audience, str):
            return audience == self._audience
        return isinstance(audience, list) and self._audience in audience


class DiscoveredJwks:
    """An OIDC provider's keys: ``jwks_uri`` from ``{issuer}/.well-known/openid-configuration``
    (fetched once; again after a failure), then an ``HttpJwks`` on it."""

    def __init__(self, issuer: str, make_source: Callable[[str], HttpJwks]) -> None:
        self._issuer = issuer.rstrip("/")
        self._make_source = make_source
        self._source: HttpJwks | None = None
        self._lock = asyncio.Lock()

    async def find_key(self, kid: str) -> Jwk | None:
        if self._source is None:
            async with self._lock:
                if self._source is None:
                    self._source = self._make_source(await self._discover())
        return await self._source.find_key(kid)

    async def _discover(self) -> str:
        url = f"{self._issuer}/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(timeout=5.0) as client:
                response = await client.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("cannot fetch %s: %s", url, type(exc).__name__)
            raise Unavailable("the identity provider's configuration is unavailable") from exc
        if not isinstance(document, dict):
            document = {}
        jwks_uri, issuer = document.get("jwks_uri"), document.get("issuer")
        if (
            not isinstance(issuer, str)
            or issuer.rstrip("/") != self._issuer
            or not isinstance(jwks_uri, str)
        ):
            log.warning("%s names another issuer or no jwks_uri", url)
            raise Unavailable("the identity provider published an invalid configuration")
        return jwks_uri
