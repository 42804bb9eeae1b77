"""Room-access grants: short-lived statements, signed by the chat server, that a user is
a member of a room right now. The key service issues or unwraps a room's data keys only
for a caller presenting a grant for that room; when a membership ends, the chat server
sends the key service a signed revocation so older grants stop working at once
(see docs/key-service.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sealchat.domain.models import User
from sealchat.identity.keys import TokenSigner
from sealchat.kms.grants import GRANT_TYPE, REVOCATION_TYPE
from sealchat.services.rooms import RoomService


@dataclass(frozen=True, slots=True)
class RoomGrant:
    token: str
    room_id: str
    expires_in: int


class GrantSigner:
    """Signs grants and revocations with the chat server's grant key."""

    def __init__(
        self,
        signing_key: TokenSigner,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = signing_key
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds
        self._clock = clock

    def now(self) -> float:
        """The signer's clock (seconds): take an issue time before deciding to issue."""
        return self._clock()

    def grant(self, user_id: str, room_id: str, *, issued_at: float | None = None) -> str:
        """A grant stamped ``issued_at`` (default: now). Pass the time taken *before* the
        membership check, so that a removal committed after the check is always dated
        later than the grant."""
        return self._sign(GRANT_TYPE, user_id, room_id, self.ttl_seconds, issued_at)

    def revocation(self, user_id: str, room_id: str, *, revoked_at_ms: int | None = None) -> str:
        """A notice signed now; ``revoked_at_ms`` defaults to its issue time (a notice
        re-sent later keeps the time the membership ended)."""
        return self._sign(REVOCATION_TYPE, user_id, room_id, 300, None, revoked_at_ms)

    def jwks(self) -> dict[str, Any]:
        return self._key.jwks()

    def _sign(
        self,
        kind: str,
        user_id: str,
        room_id: str,
        ttl: int,
        issued_at: float | None = None,
        revoked_at_ms: int | None = None,
    ) -> str:
        now = self._clock() if issued_at is None else issued_at
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": user_id,
            "room_id": room_id,
            "iat": int(now),
            "iat_ms": int(now * 1000),
            "exp": int(now) + ttl,
            "jti": str(uuid.uuid4()),
            "typ": kind,
        }
        if kind == REVOCATION_TYPE:
            claims["revoked_at_ms"] = claims["iat_ms"] if revoked_at_ms is None else revoked_at_ms
        return self._key.sign(claims)


class GrantIssuer:
    """Grants for current members only; everyone else gets the room's usual refusal."""

    def __init__(self, rooms: RoomService, signer: GrantSigner) -> None:
        self._rooms = rooms
        self._signer = signer

    async def issue(self, actor: User, room_id: str) -> RoomGrant:
        # The issue time is taken before the membership check: a removal that commits
        # after the check (and the revocation dated after that commit) is then always
        # later than the grant, so the key service refuses the grant. Stamping after the
        # check would let a grant carry a later time than the revocation.
        issued_at = self._signer.now()
        await self._rooms.require_member(actor.id, room_id)
        token = self._signer.grant(actor.id, room_id, issued_at=issued_at)
        return RoomGrant(token, room_id, self._signer.ttl_seconds)

    def jwks(self) -> dict[str, Any]:
        return self._signer.jwks()
