"""A grant requested while its holder is being removed must never outlive the removal.

The race (issue #16, item 2): the membership check passes, the removal commits and its
revocation is dated, and only then is the grant stamped: the grant carries a later time
than the revocation and the key service accepts it. The issue time must be taken before
the membership check.
"""

from __future__ import annotations

import asyncio
import itertools
import time

from sealchat.adapters.jwt_verifier import StaticJwks
from sealchat.domain.models import Role, User
from sealchat.identity.keys import SigningKey
from sealchat.kms.grants import GrantVerifier
from sealchat.services.grants import GrantIssuer, GrantSigner
from sealchat.services.rooms import RoomService
from tests.fakes import MemoryStore, RecordingFanout

ISSUER, AUDIENCE = "http://chat.test", "sealchat-kms"
ALICE, BOB = User("a", "alice"), User("b", "bob")


class SlowMembershipStore(MemoryStore):
    """``get_role`` reads the membership, then stalls until released: the removal (and
    its revocation) happens between the read and the rest of the grant request."""

    def __init__(self) -> None:
        super().__init__()
        self.read_done = asyncio.Event()
        self.release = asyncio.Event()
        self.stall_for: str | None = None

    async def get_role(self, room_id: str, user_id: str) -> Role | None:
        role = await super().get_role(room_id, user_id)
        if user_id == self.stall_for:
            self.stall_for = None
            self.read_done.set()
            await self.release.wait()
        return role


class SigningRevoker:
    def __init__(self, signer: GrantSigner) -> None:
        self.signer = signer
        self.notices: list[str] = []

    async def revoke(self, user_id: str, room_id: str) -> None:
        self.notices.append(self.signer.revocation(user_id, room_id))


async def test_a_grant_checked_before_a_removal_is_dated_before_its_revocation() -> None:
    key = SigningKey.generate()
    start, ticks = time.time(), itertools.count()
    # Every reading of the clock is one millisecond later than the one before.
    signer = GrantSigner(
        key,
        issuer=ISSUER,
        audience=AUDIENCE,
        ttl_seconds=120,
        clock=lambda: start + next(ticks) / 1000,
    )
    store = SlowMembershipStore()
    store.users.update({ALICE.id: ALICE, BOB.id: BOB})
    revoker = SigningRevoker(signer)
    rooms = RoomService(store, store, RecordingFanout(), revoker=revoker)
    room = (await rooms.create(ALICE, "ops", "private")).room
    await rooms.invite(ALICE, room.id, "bob")
    await rooms.accept_invitation(BOB, room.id)

    store.stall_for = BOB.id
    request = asyncio.create_task(GrantIssuer(rooms, signer).issue(BOB, room.id))
    await store.read_done.wait()  # bob's membership was read: he is still a member
    await rooms.remove_member(ALICE, room.id, BOB.id)  # removal commits, revocation signed
    store.release.set()
    grant = await request

    verifier = GrantVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks=StaticJwks(lambda: {"keys": [key.jwk()]}),
        max_lifetime_seconds=120,
    )
    [notice] = revoker.notices
    revocation = await verifier.verify_revocation(notice)
    verified = await verifier.verify(grant.token)
    # The key service refuses grants issued at or before the revocation.
    assert verified.issued_at_ms <= revocation.revoked_at_ms
