"""HTTP route for read markers: ``POST /api/rooms/{room_id}/read``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from sealchat.api.deps import CurrentUser, Services
from sealchat.api.schemas import MarkRead

router = APIRouter(prefix="/api", tags=["rooms"])


@router.post("/rooms/{room_id}/read")
async def mark_read(
    room_id: str, body: MarkRead, user: CurrentUser, found: Services
) -> dict[str, Any]:
    marker = await found.read_state.mark_read(user, room_id, body.seq)
    return {
        "room_id": marker.room_id,
        "last_read_seq": marker.last_read_seq,
        "unread": marker.unread,
    }
