"""Room-access grants: short-lived statements, signed by the chat server, that a user is
a member of a room right now. The key service issues or unwraps a room's data keys only
for a caller presenting a grant for that room (see docs/key-service.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sealchat.domain.models import User
from sealchat.identity.keys import SigningKey
from sealchat.services.rooms import RoomService

GRANT_TYPE = "sealchat-room-grant"


@dataclass(frozen=True, slots=True)
class RoomGrant:
    token: str
    room_id: str
    expires_in: int


class GrantIssuer:
    def __init__(
        self,
        rooms: RoomService,
        signing_key: SigningKey,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._rooms = rooms
        self._key = signing_key
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock

    async def issue(self, actor: User, room_id: str) -> RoomGrant:
        """A grant for a current member; non-members get the room's usual refusal."""
        await self._rooms.require_member(actor.id, room_id)
        now = int(self._clock())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": actor.id,
            "room_id": room_id,
            "iat": now,
            "exp": now + self._ttl,
            "jti": str(uuid.uuid4()),
            "typ": GRANT_TYPE,
        }
        return RoomGrant(self._key.sign(claims), room_id, self._ttl)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._key.jwk()]}
