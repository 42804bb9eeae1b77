"""Builds adapters from settings and hands them to services.

The only module that names a concrete adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import socketio
from fastapi import APIRouter
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.blob_files import FileBlobStore
from sealchat.adapters.jwt_verifier import HttpJwks, StaticJwks
from sealchat.adapters.kms_revoker import HttpRevoker, InProcessRevoker, NoRevoker
from sealchat.adapters.redis_presence import RedisPresence
from sealchat.adapters.redis_rate_limit import RedisTokenBucketLimiter
from sealchat.adapters.secret_files import ensure_private_directory
from sealchat.adapters.socketio_fanout import BroadcastManager, SocketIoFanout
from sealchat.adapters.socketio_packets import GuardedPacket, PacketJson
from sealchat.adapters.socketio_redis import RedisBroadcastManager
from sealchat.adapters.socketio_server import SealchatSocketServer
from sealchat.adapters.sql.blobs import SqlBlobIndex
from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.migrate import require_head, upgrade_to_head
from sealchat.adapters.sql.retention import SqlRetention
from sealchat.adapters.sql.revocation_outbox import SqlRevocationOutbox
from sealchat.adapters.sql.storage import (
    SqlMessageStore,
    SqlReadMarkerStore,
    SqlRoomStore,
    SqlUserStore,
    open_message_writer,
)
from sealchat.api.auth import AuthPolicy, build_auth_router, trusted_origins
from sealchat.api.deps import ApiServices
from sealchat.api.realtime import RealtimeLimits
from sealchat.domain.models import User
from sealchat.identity.key_set import SigningKeySet
from sealchat.identity.provider import EmbeddedIdentityProvider, build_identity_provider
from sealchat.kms.api import build_kms_router
from sealchat.kms.grants import GrantVerifier
from sealchat.kms.runtime import kms_grant_verifier, open_key_service
from sealchat.ports.blobs import BlobStore
from sealchat.ports.key_access import RevocationSender
from sealchat.ports.presence import Presence
from sealchat.ports.rate_limit import RateLimiter
from sealchat.ports.tokens import TokenVerifier
from sealchat.services.accounts import AccountControls
from sealchat.services.blobs import BlobService
from sealchat.services.grants import GrantIssuer, GrantSigner
from sealchat.services.messages import MessageService
from sealchat.services.presence import PresenceTracker
from sealchat.services.profiles import ProfileService
from sealchat.services.rate_limit import TokenBucketLimiter
from sealchat.services.read_state import ReadStateService
from sealchat.services.retention import RetentionJob
from sealchat.services.revocations import RevocationDelivery
from sealchat.services.rooms import RoomService
from sealchat.settings import Settings
from sealchat.token_setup import build_token_verifier, build_user_jwks


def build_socketio_server(settings: Settings) -> socketio.AsyncServer:
    # Room for an envelope at its cap even when every character arrives JSON-escaped
    # (``\u00e9`` is 6 characters for 2 bytes; a control byte is 6 for 1), plus the
    # event's framing. Anything bigger is abuse: engine.io closes that one connection.
    transport_cap = 6 * settings.max_envelope_bytes + 16 * 1024
    # Hostile JSON (nested thousands deep) is refused with an invalid_input ack instead
    # of a RecursionError traceback from the packet decoder (adapters/socketio_packets.py).
    return SealchatSocketServer(
        auth_deadline=settings.socket_auth_deadline_seconds,
        max_per_address=settings.max_connections_per_address,
        handshake_rate=settings.handshake_rate_per_second,
        handshake_burst=settings.handshake_rate_burst,
        fast_lane=settings.websocket_fast_lane,
        inbound_lane=settings.websocket_inbound_lane,
        max_unsent_bytes=settings.socket_send_buffer_max_bytes,
        async_mode="asgi",
        serializer=GuardedPacket,
        json=PacketJson,
        client_manager=(
            RedisBroadcastManager(settings.redis_url, channel=settings.redis_channel)
            if settings.redis_url
            else BroadcastManager()
        ),
        max_http_buffer_size=transport_cap,
        logger=False,
        engineio_logger=False,
        cors_allowed_origins=None,
        transports=["polling", "websocket"] if settings.long_polling else ["websocket"],
    )


def build_limiter(
    settings: Settings, redis: Redis | None, rate: float, burst: int, what: str
) -> RateLimiter:
    """A per-user token bucket: in this process, or in Redis shared by every node."""
    if redis is not None:
        prefix = f"{settings.redis_channel}:rate:"
        return RedisTokenBucketLimiter(redis, rate, burst, what=what, prefix=prefix)
    return TokenBucketLimiter(rate, burst, what=what)


def build_realtime_limits(settings: Settings, redis: Redis | None = None) -> RealtimeLimits:
    return RealtimeLimits(
        sync=build_limiter(
            settings,
            redis,
            settings.sync_rate_per_second,
            settings.sync_rate_burst,
            "sync requests",
        ),
        typing=build_limiter(
            settings,
            redis,
            settings.typing_rate_per_second,
            settings.typing_rate_burst,
            "typing notices",
        ),
        max_pending_events=settings.socket_max_pending_events,
        max_per_user=settings.max_connections_per_user,
    )


@asynccontextmanager
async def open_redis(settings: Settings) -> AsyncIterator[Redis | None]:
    """The Redis client for presence and rate limits (None: one node, in process)."""
    if not settings.redis_url:
        yield None
        return
    redis = Redis.from_url(settings.redis_url)
    try:
        yield redis
    finally:
        await redis.aclose()


@asynccontextmanager
async def open_presence(settings: Settings, redis: Redis | None) -> AsyncIterator[Presence]:
    if redis is None:
        yield PresenceTracker()
        return
    shared = RedisPresence(
        redis,
        ttl_seconds=settings.presence_ttl_seconds,
        prefix=f"{settings.redis_channel}:presence:",
    )
    async with shared.running():
        yield shared


def auth_policy(settings: Settings) -> AuthPolicy:
    return AuthPolicy(
        cookie_max_age=settings.refresh_token_ttl_seconds,
        secure_cookies=settings.public_url_is_https,
        trusted_origins=trusted_origins(settings.resolved_public_url(), settings.trusted_origins),
        rate_per_minute=settings.auth_rate_per_minute,
        rate_burst=settings.auth_rate_burst,
    )


@dataclass
class Runtime:
    engine: AsyncEngine
    services: ApiServices
    auth_router: APIRouter | None
    identity: EmbeddedIdentityProvider | None
    kms_router: APIRouter | None = None
    realtime_limits: RealtimeLimits | None = None


def build_verifier(settings: Settings, identity: EmbeddedIdentityProvider | None) -> TokenVerifier:
    return build_token_verifier(
        settings, build_user_jwks(settings, identity), settings.resolved_token_audience()
    )


def build_kms_verifiers(
    settings: Settings, identity: EmbeddedIdentityProvider | None, grants: GrantSigner
) -> tuple[TokenVerifier, GrantVerifier]:
    """The embedded key service trusts this process's identity provider and grant keys."""
    user_jwks = build_user_jwks(settings, identity)
    grant_jwks = (
        HttpJwks(settings.kms_grant_jwks_url)
        if settings.kms_grant_jwks_url
        else StaticJwks(grants.jwks)
    )
    user_verifier = build_token_verifier(settings, user_jwks, settings.resolved_kms_audience())
    return user_verifier, kms_grant_verifier(settings, grant_jwks)


@asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[AsyncEngine]:
    """Migrate the database to the current schema (or, with migrate_on_start off, check
    that it is there) and hand out an engine for it."""
    ensure_private_directory(settings.data_dir)
    url = settings.resolved_database_url()
    if settings.migrate_on_start:
        await upgrade_to_head(url)
    else:
        await require_head(url)
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def create_embedded_account(settings: Settings, username: str, password: str) -> User:
    """Create an account in the embedded identity provider, with its chat profile."""
    async with open_database(settings) as engine:
        profiles = ProfileService(SqlUserStore(engine))
        provider = build_identity_provider(
            settings, engine, on_account_created=profiles.account_created
        )
        account = await provider.create_account(username, password)
        return User(id=account.id, username=account.username)


def build_grant_signer(settings: Settings) -> GrantSigner:
    return GrantSigner(
        SigningKeySet(
            settings.resolved_grant_key_dir(), reload_seconds=settings.key_reload_seconds
        ),
        issuer=settings.resolved_grant_issuer(),
        audience=settings.kms_audience,
        ttl_seconds=settings.grant_ttl_seconds,
    )


@asynccontextmanager
async def key_service_link(
    settings: Settings, identity: EmbeddedIdentityProvider | None, signer: GrantSigner
) -> AsyncIterator[tuple[APIRouter | None, RevocationSender]]:
    """The embedded key service's routes (when mounted here) and how to reach it with
    revocations: in process, or over HTTP to a key service of its own."""
    if not settings.uses_embedded_key_service:
        # AWS KMS: no key service of ours, nothing to tell it when a membership ends.
        yield None, NoRevoker()
        return
    if not settings.kms_embedded:
        yield (
            None,
            HttpRevoker(settings.resolved_kms_internal_url(), settings.revocation_timeout_seconds),
        )
        return
    user_verifier, grant_verifier = build_kms_verifiers(settings, identity, signer)
    async with open_key_service(settings, user_verifier, grant_verifier) as kms:
        yield build_kms_router(kms), InProcessRevoker(kms)


def build_revocation_delivery(
    settings: Settings, engine: AsyncEngine, sender: RevocationSender, signer: GrantSigner
) -> RevocationDelivery:
    return RevocationDelivery(
        SqlRevocationOutbox(engine),
        sender,
        signer,
        initial_delay=settings.revocation_retry_initial_seconds,
        max_delay=settings.revocation_retry_max_seconds,
        attempt_timeout=settings.revocation_timeout_seconds,
    )


def build_blob_store(settings: Settings) -> BlobStore:
    """Local disk under the data dir, or an S3-compatible bucket (``s3://bucket/prefix``)."""
    if settings.blob_url.startswith("s3://"):
        from sealchat.adapters.blob_s3 import S3BlobStore

        return S3BlobStore(
            settings.blob_url,
            endpoint=settings.blob_s3_endpoint,
            region=settings.blob_s3_region or settings.resolved_aws_region(),
        )
    if settings.blob_url:
        raise ValueError(
            f"SEALCHAT_BLOB_URL must be empty or s3://bucket/prefix: {settings.blob_url}"
        )
    return FileBlobStore(settings.data_dir / "blobs")


def build_blob_service(settings: Settings, engine: AsyncEngine, rooms: RoomService) -> BlobService:
    return BlobService(
        SqlBlobIndex(engine),
        build_blob_store(settings),
        rooms,
        SqlRoomStore(engine),
        max_upload_bytes=settings.max_upload_bytes,
        quota_bytes=settings.blob_quota_bytes,
        orphan_seconds=settings.blob_orphan_seconds,
    )


@asynccontextmanager
async def runtime(settings: Settings, sio: socketio.AsyncServer) -> AsyncIterator[Runtime]:
    """Build every adapter and service on a migrated database; close them at the end."""
    problem = settings.provider_problem()
    if problem is not None:
        raise ValueError(problem)
    async with open_database(settings) as engine, AsyncExitStack() as stack:
        users = SqlUserStore(engine)
        fanout = SocketIoFanout(sio)
        controls = AccountControls(
            users,
            fanout.disconnect_user,
            interval=settings.account_check_seconds,
            token_lifetime=settings.access_token_ttl_seconds + settings.token_clock_skew_seconds,
        )
        profiles = ProfileService(users, controls=controls)
        identity = (
            build_identity_provider(settings, engine, on_account_created=profiles.account_created)
            if settings.uses_embedded_identity
            else None
        )
        signer = build_grant_signer(settings)
        kms_router, sender = await stack.enter_async_context(
            key_service_link(settings, identity, signer)
        )
        # Pending revocations are re-sent from start-up on, and retried until accepted.
        revoker = build_revocation_delivery(settings, engine, sender, signer)
        await stack.enter_async_context(revoker.running())
        redis = await stack.enter_async_context(open_redis(settings))
        presence = await stack.enter_async_context(open_presence(settings, redis))
        await stack.enter_async_context(controls.running())
        retention = RetentionJob(
            SqlRetention(engine),
            default_days=settings.message_retention_days,
            interval=settings.retention_interval_seconds,
        )
        await stack.enter_async_context(retention.running())
        rooms = RoomService(users, SqlRoomStore(engine), fanout, revoker=revoker)
        limiter = build_limiter(
            settings,
            redis,
            settings.message_rate_per_second,
            settings.message_rate_burst,
            "messages",
        )
        writer = await stack.enter_async_context(
            open_message_writer(
                engine,
                queue_max=settings.write_queue_max,
                batch_max=settings.write_batch_max,
                interval=settings.write_interval_ms / 1000,
            )
        )
        messages = MessageService(
            SqlMessageStore(engine, writer),
            rooms,
            fanout,
            limiter,
            max_envelope_bytes=settings.max_envelope_bytes,
            history_page_max=settings.history_page_max,
            sync_page_max=settings.sync_page_max,
            sync_reply_max_bytes=settings.sync_reply_max_bytes,
            history_reply_max_bytes=settings.history_reply_max_bytes,
            submitter=writer,
        )
        blob_service = build_blob_service(settings, engine, rooms)
        await stack.enter_async_context(
            blob_service.cleaning(settings.blob_cleanup_interval_seconds)
        )
        services = ApiServices(
            verifier=build_verifier(settings, identity),
            profiles=profiles,
            rooms=rooms,
            messages=messages,
            presence=presence,
            grants=GrantIssuer(rooms, signer),
            read_state=ReadStateService(SqlReadMarkerStore(engine), rooms, fanout),
            blobs=blob_service,
        )
        yield Runtime(
            engine=engine,
            services=services,
            auth_router=(
                build_auth_router(identity, auth_policy(settings), fanout.disconnect_user)
                if identity is not None
                else None
            ),
            identity=identity,
            kms_router=kms_router,
            realtime_limits=build_realtime_limits(settings, redis),
        )
