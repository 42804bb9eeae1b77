"""Build the key service from settings: embedded in ``sealchat serve``, or standalone.

``open_key_service`` opens the key service's own database (never the chat database),
creates its schema, checks (or, for an empty store, creates) the root key and makes
sure the default key exists.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat import __version__
from sealchat.adapters.jwt_verifier import HttpJwks, JwksSource, JwksTokenVerifier
from sealchat.adapters.secret_files import ensure_private_directory
from sealchat.adapters.sql.engine import create_engine
from sealchat.api.security_headers import hardened_api
from sealchat.domain.errors import SealchatError, Unauthorized
from sealchat.kms.api import build_kms_router
from sealchat.kms.audit import AuditLog
from sealchat.kms.audit_retention import run_audit_retention
from sealchat.kms.crypto import KmsKeyring
from sealchat.kms.errors import KeyServiceConfigError, RootKeyError
from sealchat.kms.grants import GrantVerifier
from sealchat.kms.models import AuditRecord
from sealchat.kms.revocations import RevocationStore
from sealchat.kms.root_key import RootKey, load_root_key
from sealchat.kms.root_rotation import candidate_root_keys
from sealchat.kms.service import KmsService
from sealchat.kms.store import KeyStore, create_schema
from sealchat.logs import RequestIds
from sealchat.ports.tokens import TokenVerifier, VerifiedIdentity
from sealchat.services.rate_limit import TokenBucketLimiter
from sealchat.settings import Settings
from sealchat.token_setup import build_token_verifier, build_user_jwks

log = logging.getLogger("sealchat.kms")

DEFAULT_KEY_DESCRIPTION = "Sealchat message data keys (created at first start)"


def kms_user_verifier(settings: Settings, jwks: JwksSource) -> JwksTokenVerifier:
    """Accepts the identity provider's access tokens for the key service's audience only
    (in oidc and cognito mode: the provider's tokens for the chat server's audience)."""
    return build_token_verifier(settings, jwks, settings.resolved_kms_audience())


def kms_grant_verifier(settings: Settings, jwks: JwksSource) -> GrantVerifier:
    """Accepts room-access grants signed with a key in the chat server's grant JWKS."""
    return GrantVerifier(
        issuer=settings.resolved_grant_issuer(),
        audience=settings.kms_audience,
        jwks=jwks,
        max_lifetime_seconds=settings.grant_ttl_seconds,
    )


@asynccontextmanager
async def open_kms_engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """The key service's engine on its schema; its default directory is private (0700)."""
    url = settings.resolved_kms_database_url()
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and sa_url.database not in (None, "", ":memory:"):
        ensure_private_directory(Path(sa_url.database).parent)
    engine = create_engine(url)
    try:
        await create_schema(engine)
        yield engine
    finally:
        await engine.dispose()


async def unlock_root_key(settings: Settings, store: KeyStore) -> RootKey:
    """The root key, checked against the store (created on the first start of an empty one)."""
    path = settings.resolved_kms_root_key_file()
    expected = await store.root_check()
    stored = await store.some_wrapped_version()
    store_is_empty = expected is None and stored is None
    root_key = load_root_key(path, expected_check=expected, store_is_empty=store_is_empty)
    if expected is None:
        if stored is not None:
            # Keys without a recorded check value: the key must at least open them.
            key_id, version, wrapped = stored
            try:
                root_key.unwrap(wrapped, key_id, version)
            except RootKeyError:
                raise RootKeyError(f"root key file does not match the key store: {path}") from None
        # Of two nodes starting on an empty store, the first to record its check wins.
        recorded = await store.remember_root_check(root_key.check_value)
        load_root_key(path, expected_check=recorded, store_is_empty=False)
    return root_key


@asynccontextmanager
async def open_key_service(
    settings: Settings, user_verifier: TokenVerifier, grant_verifier: GrantVerifier
) -> AsyncIterator[KmsService]:
    """A ready key service on its own storage; the engine is disposed at the end."""
    async with open_kms_engine(settings) as engine:
        store = KeyStore(engine)
        audit = AuditLog(
            engine,
            refusal_budget=TokenBucketLimiter(
                settings.kms_audit_refusal_rate_per_second, settings.kms_audit_refusal_burst
            ),
            summary_seconds=settings.kms_audit_summary_seconds,
        )
        service = KmsService(
            keyring=KmsKeyring(
                store,
                await unlock_root_key(settings, store),
                reload_root=lambda: candidate_root_keys(settings.resolved_kms_root_key_file()),
            ),
            store=store,
            audit=audit,
            user_verifier=user_verifier,
            grant_verifier=grant_verifier,
            limiter=TokenBucketLimiter(settings.kms_rate_per_second, settings.kms_rate_burst),
            admins=settings.kms_admins,
            default_key_id=settings.kms_default_key_id,
            revocations=RevocationStore(engine),
            notice_limiter=TokenBucketLimiter(
                settings.kms_revocation_rate_per_second, settings.kms_revocation_burst
            ),
        )
        await service.ensure_key(settings.kms_default_key_id, DEFAULT_KEY_DESCRIPTION)
        background = [
            asyncio.create_task(write_refusal_summaries(audit, settings.kms_audit_summary_seconds))
        ]
        if settings.kms_audit_retention_days:
            days, every = settings.kms_audit_retention_days, settings.retention_interval_seconds
            background.append(asyncio.create_task(run_audit_retention(engine, days, every)))
        try:
            yield service
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            try:
                await audit.flush_suppressed(force=True)
            except SealchatError as exc:
                log.warning("could not write the audit log's refusal summaries: %s", exc)


async def write_refusal_summaries(audit: AuditLog, interval: float) -> None:
    """Write the summary rows of refusals past the audit budget, at most every ``interval``."""
    while True:
        await asyncio.sleep(max(0.1, interval / 2))
        try:
            await audit.flush_suppressed()
        except SealchatError as exc:
            log.warning("could not write the audit log's refusal summaries: %s", exc)


class NoRemoteCallers:
    """For the local administrator's commands: no token and no grant is ever accepted."""

    async def verify(self, token: str) -> VerifiedIdentity:
        raise Unauthorized("this key service accepts no remote callers")

    async def find_key(self, kid: str) -> None:
        return None


def open_local_key_service(settings: Settings) -> AbstractAsyncContextManager[KmsService]:
    """``open_key_service`` for ``sealchat kms key ...``: local administration only."""
    refuse = NoRemoteCallers()
    return open_key_service(settings, refuse, kms_grant_verifier(settings, refuse))


async def read_audit(settings: Settings, limit: int = 50, **filters: Any) -> list[AuditRecord]:
    """The newest audit entries (see ``AuditLog.read`` for ``filters``)."""
    async with open_kms_engine(settings) as engine:
        return await AuditLog(engine).read(limit, **filters)


def check_standalone_settings(settings: Settings) -> None:
    """A standalone key service must be told whom to trust: it has no in-process peers."""
    needed = [
        (
            "SEALCHAT_JWKS_URL (the identity provider's JWKS)",
            settings.jwks_url or ("" if settings.auth == "embedded" else "discovered"),
        ),
        (
            "SEALCHAT_KMS_GRANT_JWKS_URL (the chat server's "
            "https://<chat>/.well-known/sealchat-grant-jwks.json)",
            settings.kms_grant_jwks_url,
        ),
    ]
    missing = [name for name, value in needed if not value]
    if missing:
        raise KeyServiceConfigError(
            "the standalone key service cannot start: set " + " and ".join(missing)
        )
    if not (settings.public_url or (settings.token_issuer and settings.kms_grant_issuer)):
        # Without them the issuers default to this process's own URL, which only matches
        # when the chat server has the same one: tokens and grants would all be refused.
        log.warning(
            "the key service expects tokens from %s and grants from %s; set "
            "SEALCHAT_TOKEN_ISSUER and SEALCHAT_KMS_GRANT_ISSUER (or SEALCHAT_PUBLIC_URL) "
            "to the chat server's URL if that is wrong",
            settings.resolved_issuer(),
            settings.resolved_grant_issuer(),
        )


def create_kms_app(settings: Settings) -> FastAPI:
    """The standalone key service (``sealchat kms serve``): its own process and storage."""
    check_standalone_settings(settings)
    user_verifier = kms_user_verifier(settings, build_user_jwks(settings, None))
    grant_verifier = kms_grant_verifier(settings, HttpJwks(settings.kms_grant_jwks_url))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_key_service(settings, user_verifier, grant_verifier) as service:
            app.include_router(build_kms_router(service))
            log.info("Sealchat key service %s is ready", __version__)
            yield

    app = hardened_api(
        "Sealchat key service",
        __version__,
        lifespan,
        api_docs=settings.api_docs,
        max_body_bytes=settings.max_http_body_bytes,
    )
    app.add_middleware(RequestIds)
    return app
