"""Token verification port: the chat server knows only issuer, audience and a JWKS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class VerifiedIdentity:
    user_id: str
    username: str
    expires_at: float
    # The token's ``iat`` (0 when it has none): tokens issued before an operator revoked
    # the user's sessions are refused.
    issued_at: float = 0.0


class TokenVerifier(Protocol):
    async def verify(self, token: str) -> VerifiedIdentity:
        """Return the identity in a valid access token.

        Raises ``Unauthorized`` (or ``TokenExpired``) for anything else.
        """
