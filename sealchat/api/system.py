"""Health and the caller's own profile."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sealchat import __version__
from sealchat.api.deps import CurrentUser
from sealchat.services import events

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


@router.get("/api/me")
async def me(user: CurrentUser) -> dict[str, Any]:
    return {"user": events.user_payload(user)}
