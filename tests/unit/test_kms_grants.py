"""Room-access grants: what the key service accepts, and every way it refuses."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

from sealchat.adapters.jwt_verifier import StaticJwks
from sealchat.domain.models import User
from sealchat.identity.keys import SigningKey
from sealchat.kms.errors import AccessDenied
from sealchat.kms.grants import GRANT_TYPE, GrantVerifier, RoomGrant, check_grant_covers
from sealchat.services.grants import GrantIssuer, GrantSigner

ISSUER = "http://chat.test"
AUDIENCE = "sealchat-kms"
CHAT_KEY = SigningKey.generate()


def verifier(key: SigningKey = CHAT_KEY, max_lifetime: float = 120) -> GrantVerifier:
    return GrantVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=StaticJwks(lambda: {"keys": [key.jwk()]}),
        max_lifetime_seconds=max_lifetime,
    )


def grant_claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "user-1",
        "room_id": "room-1",
        "iat": now,
        "exp": now + 120,
        "jti": "grant-1",
        "typ": GRANT_TYPE,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


async def test_a_valid_grant_names_user_and_room() -> None:
    grant = await verifier().verify(CHAT_KEY.sign(grant_claims()))
    assert (grant.user_id, grant.room_id, grant.grant_id) == ("user-1", "room-1", "grant-1")


async def test_grants_from_the_chat_servers_issuer_are_accepted() -> None:
    class Members:
        async def require_member(self, actor_id: str, room_id: str) -> None:
            return None

    signer = GrantSigner(CHAT_KEY, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=120)
    issuer = GrantIssuer(Members(), signer)  # type: ignore[arg-type]
    issued = await issuer.issue(User(id="user-1", username="alice"), "room-1")
    grant = await verifier().verify(issued.token)
    assert (grant.user_id, grant.room_id) == ("user-1", "room-1")
    assert abs(grant.issued_at_ms - time.time() * 1000) < 5000

    revocation = await verifier().verify_revocation(signer.revocation("user-1", "room-1"))
    assert (revocation.user_id, revocation.room_id) == ("user-1", "room-1")
    assert revocation.revoked_at_ms >= grant.issued_at_ms
    with pytest.raises(AccessDenied, match="not a room-access grant"):
        await verifier().verify(signer.revocation("user-1", "room-1"))
    with pytest.raises(AccessDenied, match="not a room-access revocation"):
        await verifier().verify_revocation(issued.token)


# Overrides, not claims: the claims are built when the test runs, so a slow run cannot
# turn "another issuer" into "expired".
@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": -60, "iat": -100}, "expired"),
        ({"iss": "http://elsewhere.test"}, "another issuer"),
        ({"aud": "sealchat"}, "another audience"),
        ({"typ": None}, "not a room-access grant"),
        ({"typ": "access"}, "not a room-access grant"),
        ({"room_id": None}, "no user, room or id"),
        ({"room_id": ""}, "no user, room or id"),
        ({"jti": None}, "invalid"),
        ({"sub": None}, "invalid"),
        ({"iat": None}, "invalid"),
        ({"exp": 3600}, "lives longer"),
    ],
)
async def test_bad_grants_are_refused(overrides: dict[str, Any], reason: str) -> None:
    now = int(time.time())
    relative = {"exp", "iat"}  # given as seconds from now
    claims = grant_claims(
        **{k: (now + v if k in relative and v is not None else v) for k, v in overrides.items()}
    )
    with pytest.raises(AccessDenied, match=reason):
        await verifier().verify(CHAT_KEY.sign(claims))


async def test_a_grant_signed_by_an_unknown_key_is_refused() -> None:
    with pytest.raises(AccessDenied, match="unknown key"):
        await verifier().verify(SigningKey.generate().sign(grant_claims()))


async def test_a_grant_with_a_known_kid_but_another_signature_is_refused() -> None:
    forged = jwt.encode(
        grant_claims(),
        SigningKey.generate().private_key,
        algorithm="EdDSA",
        headers={"kid": CHAT_KEY.kid},
    )
    with pytest.raises(AccessDenied, match="invalid"):
        await verifier().verify(forged)


@pytest.mark.parametrize("algorithm", ["HS256", "none"])
async def test_symmetric_and_unsigned_grants_are_refused(algorithm: str) -> None:
    key: Any = "s" * 32 if algorithm == "HS256" else None
    token = jwt.encode(grant_claims(), key, algorithm=algorithm, headers={"kid": CHAT_KEY.kid})
    with pytest.raises(AccessDenied, match="algorithm is not allowed"):
        await verifier().verify(token)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c"])
async def test_malformed_grants_are_refused(token: str) -> None:
    with pytest.raises(AccessDenied):
        await verifier().verify(token)


def test_a_grant_covers_only_its_user_and_room() -> None:
    grant = RoomGrant(
        user_id="user-1", room_id="room-1", grant_id="g", expires_at=0, issued_at_ms=0
    )
    check_grant_covers(grant, "user-1", "room-1")
    with pytest.raises(AccessDenied, match="another user"):
        check_grant_covers(grant, "user-2", "room-1")
    with pytest.raises(AccessDenied, match="another room"):
        check_grant_covers(grant, "user-1", "room-2")
