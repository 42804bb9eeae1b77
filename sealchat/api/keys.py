"""What a client needs to seal: where the key service is, and room-access grants."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from sealchat import __version__
from sealchat.api.deps import CurrentUser, Services
from sealchat.settings import Settings

router = APIRouter(tags=["keys"])


@router.get("/api/config")
async def client_config(request: Request, response: Response) -> dict[str, Any]:
    """Public settings a client needs before it can seal a message.

    ``kms_url`` comes from configuration alone (``SEALCHAT_KMS_URL``, else
    ``SEALCHAT_PUBLIC_URL`` + ``/kms``), never from the request's Host header: clients send
    their key-service token and grants there. ``no-store`` keeps a shared cache from
    handing one client's answer (or a poisoned one) to another.
    """
    settings: Settings = request.app.state.settings
    response.headers["Cache-Control"] = "no-store"
    return {
        "version": __version__,
        "kms_url": settings.resolved_kms_url(),
        "kms_key_id": settings.kms_default_key_id,
        "kms_audience": settings.resolved_kms_audience(),
        "max_envelope_bytes": settings.max_envelope_bytes,
        "auth": auth_config(settings),
        "key_service": key_service_config(settings),
        "key_service_layout": key_service_layout(settings),
        "docs_url": settings.docs_url.rstrip("/") or None,
    }


def auth_config(settings: Settings) -> dict[str, Any]:
    """How clients sign in (docs/protocol.md, ``GET /api/config``)."""
    if settings.auth == "oidc":
        return {
            "mode": "oidc",
            "issuer": settings.resolved_issuer(),
            "client_id": settings.oidc_client_id,
            "scopes": settings.oidc_scopes,
            "audience": settings.resolved_token_audience(),
        }
    if settings.auth == "cognito":
        return {
            "mode": "cognito",
            "region": settings.cognito_region,
            "user_pool_id": settings.cognito_user_pool_id,
            "client_id": settings.cognito_client_id,
            "identity_pool_id": settings.cognito_identity_pool_id or None,
            "endpoints": {
                "cognito_idp": settings.cognito_idp_endpoint or None,
                "cognito_identity": settings.cognito_identity_endpoint or None,
            },
        }
    return {"mode": "embedded"}


def key_service_config(settings: Settings) -> dict[str, Any]:
    """Where clients get data keys (docs/protocol.md, ``GET /api/config``)."""
    if settings.key_service == "aws-kms":
        return {
            "type": "aws-kms",
            "key_id": settings.aws_kms_key_id,
            "region": settings.resolved_aws_region(),
            "endpoint": settings.aws_kms_endpoint or None,
        }
    return {
        "type": "embedded",
        "url": settings.resolved_kms_url(),
        "key_id": settings.kms_default_key_id,
    }


def key_service_layout(settings: Settings) -> str:
    """Whether the key service shares the chat server's process: clients tell their users
    what that means (docs/key-service.md §1.2)."""
    if settings.key_service == "aws-kms":
        return "aws-kms"
    return "embedded-same-process" if settings.kms_embedded else "separate"


@router.post("/api/rooms/{room_id}/key-grant")
async def room_key_grant(
    room_id: str, user: CurrentUser, found: Services, response: Response
) -> dict[str, Any]:
    """A short-lived grant to present to the key service for this room's data keys."""
    grant = await found.grants.issue(user, room_id)
    response.headers["Cache-Control"] = "no-store"
    return {"grant": grant.token, "room_id": grant.room_id, "expires_in": grant.expires_in}


@router.get("/.well-known/sealchat-grant-jwks.json")
async def grant_jwks(found: Services, response: Response) -> dict[str, Any]:
    """The public keys the key service uses to check room-access grants."""
    response.headers["Cache-Control"] = "public, max-age=300"
    return found.grants.jwks()
