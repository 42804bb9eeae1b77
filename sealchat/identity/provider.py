"""The embedded identity provider: accounts, sign-in, token issuing and refresh-token rotation.

It plays the part Cognito User Pools play in the AWS design: the chat server never calls
it directly, it only verifies the access tokens it signs against its published JWKS.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat import metrics
from sealchat.domain.errors import InvalidInput, Unauthorized
from sealchat.domain.rules import check_password, normalize_username
from sealchat.identity.key_set import SigningKeySet
from sealchat.identity.keys import TokenSigner
from sealchat.identity.passwords import PasswordHasher
from sealchat.identity.store import (
    Account,
    AccountRecord,
    IdentityStore,
    NewRefreshToken,
    RefreshRefusal,
)
from sealchat.identity.throttle import LoginThrottle
from sealchat.settings import Settings

log = logging.getLogger(__name__)

OnAccountCreated = Callable[[str, str], Awaitable[None]]
Clock = Callable[[], datetime]

BAD_CREDENTIALS = "invalid username or password, or too many failed attempts: try again later"
BAD_REFRESH_TOKEN = "refresh token is invalid or expired"  # noqa: S105 (a message)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    user_id: str
    username: str
    # A second access token whose audience is the key service alone (same lifetime).
    kms_access_token: str | None = None


class EmbeddedIdentityProvider:
    def __init__(
        self,
        *,
        store: IdentityStore,
        signing_key: TokenSigner,
        hasher: PasswordHasher,
        throttle: LoginThrottle,
        issuer: str,
        audience: str,
        access_token_ttl: timedelta,
        refresh_token_ttl: timedelta,
        clock: Clock = utc_now,
        on_account_created: OnAccountCreated | None = None,
        kms_audience: str | None = None,
        refresh_reuse_grace: timedelta = timedelta(0),
    ) -> None:
        self._store = store
        self._key = signing_key
        self._hasher = hasher
        self._throttle = throttle
        self._issuer = issuer
        self._audience = audience
        self._access_ttl = access_token_ttl
        self._refresh_ttl = refresh_token_ttl
        self._clock = clock
        self._on_account_created = on_account_created
        self._kms_audience = kms_audience
        self._reuse_grace = refresh_reuse_grace

    async def create_account(self, username: str, password: str) -> Account:
        """Create an account without signing in (``sealchat user create``)."""
        record = await self._new_account(username, password)
        await self._store.create_account(record, None)
        await self._account_created(record)
        return Account(record.id, record.username)

    async def register(self, username: str, password: str) -> TokenPair:
        """Create an account and sign it in; ``Conflict`` if the username is taken."""
        record = await self._new_account(username, password)
        refresh_token, token_row = self._new_session(record.id, record.created_at)
        await self._store.create_account(record, token_row)
        await self._account_created(record)
        return self._token_pair(
            Account(record.id, record.username), refresh_token, record.created_at
        )

    async def login(self, username: str, password: str) -> TokenPair:
        """Sign in. Wrong username, wrong password and a locked account fail alike, in
        status, message and time, so a failure never tells whether the username exists.

        A locked account is refused without checking the password, so guesses made
        during a lockout learn nothing; the time a verify takes is spent all the same.
        """
        try:
            name = normalize_username(username)
        except InvalidInput:
            name = None  # cannot exist; fail like any unknown username
        record = None if name is None else await self._store.get_account_by_username(name)
        if record is None:
            await self._hasher.spend_verify(password)
            metrics.LOGIN_FAILURES.labels("bad_credentials").inc()
            raise Unauthorized(BAD_CREDENTIALS)
        now = self._clock()
        if record.disabled:
            # Like a wrong password: a disabled account's name is not confirmed either.
            await self._hasher.spend_verify(password)
            metrics.LOGIN_FAILURES.labels("disabled").inc()
            raise Unauthorized(BAD_CREDENTIALS)
        if self._throttle.retry_after(record.locked_until, now) is not None:
            # Not RateLimited: an unknown username is never locked, so a distinct answer
            # (or a faster one) would tell an attacker which usernames exist.
            await self._hasher.spend_verify(password)
            metrics.LOGIN_FAILURES.labels("locked").inc()
            raise Unauthorized(BAD_CREDENTIALS)
        if not await self._hasher.verify(record.password_hash, password):
            await self._store.record_failed_login(
                record.id, lambda failures: self._throttle.locked_until(failures, now)
            )
            metrics.LOGIN_FAILURES.labels("bad_credentials").inc()
            raise Unauthorized(BAD_CREDENTIALS)
        # Raised cost settings take effect for each account at its next sign-in.
        new_hash = None
        if self._hasher.needs_rehash(record.password_hash):
            new_hash = await self._hasher.hash(password)
        refresh_token, token_row = self._new_session(record.id, now)
        await self._store.record_successful_login(record.id, new_hash, token_row)
        return self._token_pair(Account(record.id, record.username), refresh_token, now)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Exchange a refresh token for new tokens; the presented one is spent.

        Each new refresh token lives ``refresh_token_ttl`` from its issue, so a session
        in use stays signed in. Presenting a spent token revokes its whole family:
        clients must serialize refreshes. One exception, for a page reloaded while its
        refresh was on the way: within ``refresh_reuse_grace`` of its use, the token just
        spent may be presented again (while its successor is unused) and continues the
        family, its successor spent in its place.
        """
        now = self._clock()
        new_token = secrets.token_urlsafe(32)
        outcome = await self._store.rotate_refresh_token(
            _digest(refresh_token),
            _digest(new_token),
            now,
            now + self._refresh_ttl,
            self._reuse_grace,
        )
        if isinstance(outcome, RefreshRefusal):
            if outcome is RefreshRefusal.REUSED:
                log.warning("a spent refresh token was presented; its family is revoked")
            raise Unauthorized(BAD_REFRESH_TOKEN)
        return self._token_pair(outcome, new_token, now)

    async def logout(self, refresh_token: str) -> str | None:
        """Revoke the refresh token's family (the session), including tokens rotated from it.

        Idempotent: an unknown, spent or already revoked token succeeds too, since the
        goal (that token no longer works) holds, and a sign-out should never fail.
        Access tokens already issued stay valid until they expire (minutes).
        Returns the account whose session this ended (None when nothing was revoked).
        """
        return await self._store.revoke_family(_digest(refresh_token), self._clock())

    def openid_configuration(self) -> dict[str, Any]:
        """OIDC discovery metadata. ``token_endpoint`` is the JSON sign-in route, not an
        OAuth 2.0 form-encoded token endpoint."""
        base = self._issuer.rstrip("/")
        return {
            "issuer": self._issuer,
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "token_endpoint": f"{base}/api/auth/login",
            "grant_types_supported": ["password", "refresh_token"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["EdDSA"],
            "token_endpoint_auth_methods_supported": ["none"],
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "jti", "username"],
        }

    def jwks(self) -> dict[str, Any]:
        return self._key.jwks()

    async def _new_account(self, username: str, password: str) -> AccountRecord:
        name = normalize_username(username)
        check_password(password)
        password_hash = await self._hasher.hash(password)
        return AccountRecord(str(uuid.uuid4()), name, password_hash, self._clock())

    async def _account_created(self, record: AccountRecord) -> None:
        # Runs after the commit. If it fails the error propagates but the account stays
        # (the user can sign in), so the hook must be idempotent.
        if self._on_account_created is not None:
            await self._on_account_created(record.id, record.username)

    def _new_session(self, account_id: str, now: datetime) -> tuple[str, NewRefreshToken]:
        """A refresh token starting a new family (one family per sign-in)."""
        token = secrets.token_urlsafe(32)
        family_id = str(uuid.uuid4())
        row = NewRefreshToken(_digest(token), family_id, account_id, now, now + self._refresh_ttl)
        return token, row

    def _token_pair(self, account: Account, refresh_token: str, now: datetime) -> TokenPair:
        issued_at = int(now.timestamp())
        ttl = int(self._access_ttl.total_seconds())
        claims = {
            "iss": self._issuer,
            "sub": account.id,
            "aud": self._audience,
            "iat": issued_at,
            "exp": issued_at + ttl,
            "jti": str(uuid.uuid4()),
            "username": account.username,
            "token_use": "access",
        }
        kms_token = None
        if self._kms_audience is not None:
            # Its own jti and audience: the chat server never receives this token, so a
            # compromised chat server holds nothing the key service would accept.
            kms_claims = {**claims, "aud": self._kms_audience, "jti": str(uuid.uuid4())}
            kms_token = self._key.sign(kms_claims)
        return TokenPair(
            self._key.sign(claims), refresh_token, ttl, account.id, account.username, kms_token
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def build_identity_provider(
    settings: Settings, engine: AsyncEngine, on_account_created: OnAccountCreated | None = None
) -> EmbeddedIdentityProvider:
    """The provider as the settings describe it; its signing keys live in their own
    directory (``SEALCHAT_IDENTITY_KEY_DIR``, by default under the data dir)."""
    return EmbeddedIdentityProvider(
        store=IdentityStore(engine),
        signing_key=SigningKeySet(
            settings.resolved_identity_key_dir(), reload_seconds=settings.key_reload_seconds
        ),
        hasher=PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            max_queue=settings.password_hash_queue,
        ),
        throttle=LoginThrottle(
            max_failures=settings.login_max_failures,
            lockout=timedelta(seconds=settings.login_lockout_seconds),
        ),
        issuer=settings.resolved_issuer(),
        audience=settings.token_audience,
        access_token_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        refresh_token_ttl=timedelta(seconds=settings.refresh_token_ttl_seconds),
        on_account_created=on_account_created,
        kms_audience=settings.kms_audience,
        refresh_reuse_grace=timedelta(seconds=settings.refresh_reuse_grace_seconds),
    )
