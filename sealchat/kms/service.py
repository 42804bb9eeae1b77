"""The key service's use cases: authenticate, authorize, use keys, audit, all in one place.

Every key use and every refusal is audited before the caller gets an answer; when the
audit entry cannot be written the operation fails, so no key is ever used unaudited.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Collection

from sealchat.domain.errors import (
    InvalidInput,
    RateLimited,
    SealchatError,
    Unauthorized,
    Unavailable,
)
from sealchat.kms.audit import AuditLog
from sealchat.kms.blob import check_context, check_key_id, parse_blob
from sealchat.kms.crypto import KmsKeyring
from sealchat.kms.errors import AccessDenied, InvalidCiphertext, KeyExists, KeyNotFound
from sealchat.kms.grants import GrantVerifier, check_grant_covers
from sealchat.kms.models import (
    KEY_SERVICE,
    Actor,
    Caller,
    EncryptionContext,
    KmsDataKey,
    MasterKey,
    Operation,
)
from sealchat.kms.revocations import RevocationStore
from sealchat.kms.store import KeyStore
from sealchat.ports.tokens import TokenVerifier
from sealchat.services.rate_limit import TokenBucketLimiter

log = logging.getLogger(__name__)

ROOM_ID = "room_id"
# The audit log's actor for a validly signed revocation notice.
CHAT_SERVER = "chat-server"
NOTICES_BUCKET = "revocation-notices"
# A notice dated later than this would lock a user out of a room until that date.
REVOCATION_CLOCK_SKEW_MS = 60_000


class KmsService:
    def __init__(
        self,
        *,
        keyring: KmsKeyring,
        store: KeyStore,
        audit: AuditLog,
        user_verifier: TokenVerifier,
        grant_verifier: GrantVerifier,
        limiter: TokenBucketLimiter,
        admins: Collection[str],
        default_key_id: str,
        revocations: RevocationStore,
        notice_limiter: TokenBucketLimiter | None = None,
    ) -> None:
        self._keyring = keyring
        self._store = store
        self._audit = audit
        self._users = user_verifier
        self._grants = grant_verifier
        self._limiter = limiter
        self._revocations = revocations
        # Validly signed revocation notices have a budget of their own.
        self._notice_limiter = notice_limiter or TokenBucketLimiter(100.0, 1000)
        self._admins = frozenset(name.lower() for name in admins)
        self.default_key_id = default_key_id

    async def authenticate(
        self,
        caller: Caller,
        operation: Operation,
        key_id: str | None = None,
        context: EncryptionContext | None = None,
    ) -> Actor:
        """The actor a key-service access token names; refusals are audited."""
        try:
            if not caller.token:
                raise Unauthorized("missing bearer token (the key service's access token)")
            identity = await self._users.verify(caller.token)
        except Unauthorized as exc:
            anonymous = Actor(user_id=None, username="", source=caller.source)
            await self._refuse_anonymous(anonymous, operation, key_id, context, exc)
            raise
        return Actor(identity.user_id, identity.username, source=caller.source)

    async def refuse_invalid_request(
        self, caller: Caller, operation: Operation, message: str
    ) -> None:
        """Audit a request refused before it reached the service (a malformed body, e.g.
        a nested encryption context): the caller's user when its token is valid, else
        its address."""
        actor = Actor(user_id=None, username="", source=caller.source)
        if caller.token:
            with contextlib.suppress(SealchatError):
                identity = await self._users.verify(caller.token)
                actor = Actor(identity.user_id, identity.username, source=caller.source)
        refusal = InvalidInput(message)
        if actor.user_id is None:
            await self._refuse_anonymous(actor, operation, None, None, refusal)
        else:
            await self._audit.refusal(actor, operation, None, None, refusal)

    async def _refuse_anonymous(
        self,
        actor: Actor,
        operation: Operation,
        key_id: str | None,
        context: EncryptionContext | None,
        refusal: SealchatError,
    ) -> None:
        """An unauthenticated caller's refusal: limited per address (past the limit the
        answer is ``rate_limited``), and audited within the address's audit budget."""
        context = _valid_or_none(context)
        try:
            self._take_token(f"address:{actor.source}")
        except RateLimited as limited:
            await self._audit.refusal(actor, operation, key_id, context, limited)
            raise
        await self._audit.refusal(actor, operation, key_id, context, refusal)

    async def generate_data_key(
        self, actor: Actor, key_id: str | None, context: EncryptionContext, grant: str | None
    ) -> KmsDataKey:
        """A fresh data key for the room in ``context``, if ``grant`` covers it."""
        key_id = key_id or self.default_key_id
        operation = Operation.GENERATE_DATA_KEY
        async with self._audit.operation(
            actor, operation, key_id, _valid_or_none(context)
        ) as draft:
            context = check_context(context)  # an invalid context is a refusal, audited
            self._take_token(f"user:{actor.user_id}")
            await self._authorize_room(actor, context, grant)
            data_key = await self._keyring.generate_data_key(key_id, context)
            draft.learn(data_key.key_id, data_key.key_version)
        return data_key

    async def decrypt(
        self,
        actor: Actor,
        ciphertext_blob: bytes,
        context: EncryptionContext,
        grant: str | None,
        expected_key_id: str | None = None,
    ) -> KmsDataKey:
        """The data key in ``ciphertext_blob``, if ``grant`` covers the room in ``context``
        (and the blob was made with ``expected_key_id``, when given)."""
        audited_context = _valid_or_none(context)
        async with self._audit.operation(actor, Operation.DECRYPT, None, audited_context) as draft:
            context = check_context(context)  # an invalid context is a refusal, audited
            self._take_token(f"user:{actor.user_id}")
            blob = parse_blob(ciphertext_blob)
            draft.learn(blob.key_id, blob.version)
            if expected_key_id is not None and expected_key_id != blob.key_id:
                raise InvalidCiphertext(
                    f"the ciphertext blob was not made with key {expected_key_id!r}"
                )
            await self._authorize_room(actor, context, grant)
            data_key = await self._keyring.decrypt(ciphertext_blob, context)
        return data_key

    async def list_keys(self) -> list[MasterKey]:
        return await self._store.list_keys()

    async def describe_key(self, key_id: str) -> MasterKey:
        found = await self._store.describe_key(check_key_id(key_id))
        if found is None:
            raise KeyNotFound(f"no key {key_id!r}")
        return found

    async def create_key(self, actor: Actor, key_id: str, description: str) -> MasterKey:
        async with self._audit.operation(actor, Operation.CREATE_KEY, key_id, None) as draft:
            self._authorize_admin(actor)
            draft.written = True  # with the key, in the same transaction
            key = await self._keyring.create_key(key_id, description, draft.entry)
        log.info("key %s created by %s", key_id, actor.username)
        return key

    async def rotate_key(self, actor: Actor, key_id: str) -> int:
        """Make a new version of ``key_id`` current; return its number."""
        async with self._audit.operation(actor, Operation.ROTATE_KEY, key_id, None) as draft:
            self._authorize_admin(actor)
            draft.written = True  # with the new version, in the same transaction
            version = await self._keyring.rotate_key(key_id, draft.entry)
        log.info("key %s rotated to version %d by %s", key_id, version, actor.username)
        return version

    async def ensure_key(self, key_id: str, description: str) -> None:
        """Create ``key_id`` unless it exists (the default key, at startup)."""
        if await self._store.describe_key(check_key_id(key_id)) is not None:
            return
        with contextlib.suppress(KeyExists):  # another node created it a moment ago
            await self.create_key(KEY_SERVICE, key_id, description)

    async def _authorize_room(
        self, actor: Actor, context: EncryptionContext, grant: str | None
    ) -> None:
        room_id = context.get(ROOM_ID)
        if not room_id:
            raise AccessDenied("the encryption context must name the room (room_id)")
        if not grant:
            raise AccessDenied(
                "a room-access grant is required: get one from the chat server "
                f"(POST /api/rooms/{room_id}/key-grant)"
            )
        verified = await self._grants.verify(grant)
        check_grant_covers(verified, actor.user_id or "", room_id)
        revoked_at_ms = await self._revocations.revoked_at_ms(verified.user_id, room_id)
        if revoked_at_ms is not None and revoked_at_ms >= verified.issued_at_ms:
            raise AccessDenied(
                "your membership of this room ended after this grant was issued; "
                "the chat server no longer grants you this room"
            )

    async def revoke_room_access(self, notice: str, source: str | None = None) -> None:
        """Record a revocation notice from the chat server (authenticated by its signature).

        The signature is checked before any rate limit: a valid notice draws from the
        notices' own budget, so junk requests from the chat server's address (which empty
        that address's bucket) cannot make the key service refuse it. An invalid notice
        is an anonymous caller's refusal like any other: limited per address, audited
        within the address's audit budget.
        """
        try:
            revocation = await self._grants.verify_revocation(notice)
            if revocation.revoked_at_ms > time.time() * 1000 + REVOCATION_CLOCK_SKEW_MS:
                raise AccessDenied("the revocation is dated in the future")
        except Unavailable:
            raise  # the chat server's keys are unreachable: nothing was decided
        except SealchatError as exc:
            anonymous = Actor(user_id=None, username="", source=source)
            await self._refuse_anonymous(anonymous, Operation.REVOKE, None, None, exc)
            raise
        actor = Actor(user_id=None, username=CHAT_SERVER, source=source)
        context = {ROOM_ID: revocation.room_id, "user_id": revocation.user_id}
        async with self._audit.operation(actor, Operation.REVOKE, None, context) as draft:
            self._take_token(NOTICES_BUCKET, self._notice_limiter)
            await self._revocations.record(
                revocation.user_id, revocation.room_id, revocation.revoked_at_ms, draft.entry
            )
            draft.written = True

    def _authorize_admin(self, actor: Actor) -> None:
        if not (actor.local or actor.username.lower() in self._admins):
            raise AccessDenied("only key service administrators may create and rotate keys")

    def _take_token(self, bucket: str, limiter: TokenBucketLimiter | None = None) -> None:
        try:
            (limiter or self._limiter).check(bucket)
        except RateLimited as exc:
            log.debug("key service rate limit reached for %s", bucket)
            raise RateLimited(
                f"too many key service requests; retry in {exc.retry_after:.1f} s",
                retry_after=exc.retry_after,
            ) from None


def _valid_or_none(context: EncryptionContext | None) -> EncryptionContext | None:
    if context is None:
        return None
    try:
        return check_context(context)
    except SealchatError:
        return None
