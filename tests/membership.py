"""Adding someone to a room takes their consent: an invitation they accept."""

from __future__ import annotations

from typing import Any

from sealchat.client import SealchatClient


async def add_member(owner: SealchatClient, member: SealchatClient, room_id: str) -> dict[str, Any]:
    """``owner`` invites ``member``, who accepts; returns the room as ``member`` sees it."""
    assert member.user is not None, "the member must be signed in"
    await owner.invite(room_id, member.user["username"])
    return await member.accept_invitation(room_id)
