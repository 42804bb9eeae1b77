"""Room-access grants: short-lived JWTs from the chat server saying "this user is a
member of this room right now". The key service checks them before using a room's keys.

The check is as strict as ``JwksTokenVerifier``'s: EdDSA only (no ``none``, no HMAC),
a ``kid`` found in the chat server's grant JWKS with a matching key type, and required
``exp``, ``iat``, ``sub``, ``aud``, ``iss``, ``room_id``, ``jti`` and ``typ``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeGuard

import jwt

from sealchat.adapters.jwt_verifier import JwksSource
from sealchat.domain.errors import Unavailable
from sealchat.kms.errors import AccessDenied

GRANT_TYPE = "sealchat-room-grant"
REVOCATION_TYPE = "sealchat-room-revocation"
GRANT_ALGORITHM = "EdDSA"
REQUIRED_GRANT_CLAIMS = ["exp", "iat", "sub", "aud", "iss", "jti"]


@dataclass(frozen=True, slots=True)
class RoomGrant:
    user_id: str
    room_id: str
    grant_id: str
    expires_at: float
    # Milliseconds, so a removal in the same second as a grant still orders correctly.
    issued_at_ms: int


@dataclass(frozen=True, slots=True)
class Revocation:
    user_id: str
    room_id: str
    revoked_at_ms: int


class GrantVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksSource,
        max_lifetime_seconds: float,
        leeway: float = 5.0,
    ) -> None:
        self._issuer = issuer
        self._audience = audience
        self._jwks = jwks
        self._max_lifetime = max_lifetime_seconds
        self._leeway = leeway

    async def verify(self, grant: str) -> RoomGrant:
        """The grant's user and room; ``AccessDenied`` saying why for anything else."""
        return self._checked(await self._verified_claims(grant))

    async def verify_revocation(self, notice: str) -> Revocation:
        """A revocation notice from the chat server (signed with its grant key)."""
        claims = await self._verified_claims(notice)
        user_id, room_id, at_ms = claims["sub"], claims.get("room_id"), claims.get("revoked_at_ms")
        if claims.get("typ") != REVOCATION_TYPE:
            raise AccessDenied("the token is not a room-access revocation")
        if not (_is_text(user_id) and _is_text(room_id) and isinstance(at_ms, int)):
            raise AccessDenied("the revocation has no user, room or time")
        return Revocation(user_id, room_id, at_ms)

    async def _verified_claims(self, grant: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(grant)
        except jwt.PyJWTError:
            raise AccessDenied("the room-access grant is malformed") from None
        kid = header.get("kid")
        if header.get("alg") != GRANT_ALGORITHM:
            raise AccessDenied("the room-access grant's algorithm is not allowed")
        if not isinstance(kid, str) or not kid:
            raise AccessDenied("the room-access grant has no key id")
        try:
            jwk = await self._jwks.find_key(kid)
        except Unavailable:
            raise Unavailable("the chat server's grant keys are unavailable") from None
        if jwk is None:
            raise AccessDenied("the room-access grant is signed by an unknown key")
        if jwk.get("kty") != "OKP" or jwk.get("alg", GRANT_ALGORITHM) != GRANT_ALGORITHM:
            raise AccessDenied("the room-access grant's algorithm does not match its key")
        if jwk.get("use", "sig") != "sig":
            raise AccessDenied("the room-access grant is signed by a key not meant for signing")
        return self._decode(grant, jwk)

    def _decode(self, grant: str, jwk: Any) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                grant,
                jwt.PyJWK(dict(jwk), algorithm=GRANT_ALGORITHM),
                algorithms=[GRANT_ALGORITHM],
                issuer=self._issuer,
                audience=self._audience,
                leeway=self._leeway,
                options={"require": REQUIRED_GRANT_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise AccessDenied("the room-access grant has expired; get a new one") from None
        except jwt.InvalidIssuerError:
            raise AccessDenied("the room-access grant is from another issuer") from None
        except jwt.InvalidAudienceError:
            raise AccessDenied("the room-access grant is for another audience") from None
        except jwt.PyJWTError:
            raise AccessDenied("the room-access grant is invalid") from None
        return claims

    def _checked(self, claims: dict[str, Any]) -> RoomGrant:
        if claims.get("typ") != GRANT_TYPE:
            raise AccessDenied("the token is not a room-access grant")
        user_id, room_id, grant_id = claims["sub"], claims.get("room_id"), claims["jti"]
        if not (_is_text(user_id) and _is_text(room_id) and _is_text(grant_id)):
            raise AccessDenied("the room-access grant has no user, room or id")
        if float(claims["exp"]) - float(claims["iat"]) > self._max_lifetime + self._leeway:
            raise AccessDenied(
                "the room-access grant lives longer than this key service allows "
                f"({self._max_lifetime:.0f} s; see SEALCHAT_GRANT_TTL_SECONDS)"
            )
        issued_at_ms = claims.get("iat_ms")
        if not isinstance(issued_at_ms, int):
            issued_at_ms = int(claims["iat"]) * 1000
        return RoomGrant(user_id, room_id, grant_id, float(claims["exp"]), issued_at_ms)


def _is_text(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value)


def check_grant_covers(grant: RoomGrant, user_id: str, room_id: str) -> None:
    """``AccessDenied`` unless ``grant`` is for this user and this room."""
    if grant.user_id != user_id:
        raise AccessDenied("the room-access grant was issued to another user")
    if grant.room_id != room_id:
        raise AccessDenied("the room-access grant is for another room")
