"""Token verifiers built from settings (SEALCHAT_AUTH): the chat server's and the key
service's, in ``sealchat serve`` and in the standalone ``sealchat kms serve``."""

from __future__ import annotations

from typing import Any

from sealchat.adapters.jwt_verifier import (
    COGNITO_USERNAME_CLAIMS,
    EXTERNAL_REQUIRED_CLAIMS,
    OIDC_USERNAME_CLAIMS,
    DiscoveredJwks,
    HttpJwks,
    JwksSource,
    JwksTokenVerifier,
    StaticJwks,
)
from sealchat.identity.provider import EmbeddedIdentityProvider
from sealchat.settings import Settings

# An unknown key id makes us fetch the provider's JWKS again at most this often.
JWKS_REFETCH_SECONDS = 10.0


def build_user_jwks(settings: Settings, identity: EmbeddedIdentityProvider | None) -> JwksSource:
    """The identity provider's public keys: in process, from a JWKS URL, or discovered."""
    if identity is not None:
        return StaticJwks(identity.jwks)
    jwks_url = settings.resolved_jwks_url()
    if jwks_url:
        return HttpJwks(jwks_url, refetch_interval=JWKS_REFETCH_SECONDS)
    return DiscoveredJwks(
        settings.resolved_issuer(),
        lambda url: HttpJwks(url, refetch_interval=JWKS_REFETCH_SECONDS),
    )


def build_token_verifier(settings: Settings, jwks: JwksSource, audience: str) -> JwksTokenVerifier:
    """Access tokens as the configured provider (SEALCHAT_AUTH) mints them."""
    options: dict[str, Any] = {}
    if settings.auth == "cognito":
        options = {
            "token_uses": settings.cognito_token_use,
            "require_token_use": True,
            "username_claims": COGNITO_USERNAME_CLAIMS,
            "normalize_username": True,
            "required_claims": EXTERNAL_REQUIRED_CLAIMS,
        }
    elif settings.auth == "oidc":
        claim = settings.oidc_username_claim
        options = {
            "token_uses": ("access", "id"),
            "username_claims": (claim,) if claim else OIDC_USERNAME_CLAIMS,
            "normalize_username": True,
            "required_claims": EXTERNAL_REQUIRED_CLAIMS,
        }
    return JwksTokenVerifier(
        issuer=settings.resolved_issuer(),
        audience=audience,
        algorithms=settings.resolved_token_algorithms(),
        jwks=jwks,
        leeway=settings.token_clock_skew_seconds,
        **options,
    )
