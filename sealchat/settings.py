"""All configuration in one place: environment variables prefixed ``SEALCHAT_``.

Every default is the embedded, single-machine choice: SQLite under the data dir,
in-process fan-out, the embedded identity provider.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# The asymmetric algorithms accepted from Cognito or an OIDC provider (never none, HS*).
EXTERNAL_TOKEN_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "EdDSA"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SEALCHAT_", env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path("./sealchat-data")
    # Empty means a SQLite file under data_dir.
    database_url: str = ""
    # Base URL clients use to reach this server; the embedded issuer's ``iss``.
    # Empty means http://{host}:{port}.
    public_url: str = ""
    log_level: str = "info"

    # Tokens: the audience the chat server accepts; issuer and JWKS of the identity
    # provider. Empty issuer/jwks_url mean the embedded identity provider.
    token_audience: str = "sealchat"  # noqa: S105 - an audience name, not a secret
    token_issuer: str = ""
    jwks_url: str = ""
    token_algorithms: list[str] = ["EdDSA", "RS256"]
    access_token_ttl_seconds: int = Field(default=900, ge=1)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)

    # Embedded identity provider: sign-in throttling per account.
    login_max_failures: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)
    # argon2id cost; the defaults are argon2-cffi's (RFC 9106 low-memory profile).
    argon2_time_cost: int = Field(default=3, ge=1)
    argon2_memory_kib: int = Field(default=65536, ge=8)
    argon2_parallelism: int = Field(default=4, ge=1)

    # Messages and limits.
    max_envelope_bytes: int = Field(default=64 * 1024, ge=256)
    message_rate_per_second: float = Field(default=20.0, gt=0)
    message_rate_burst: int = Field(default=40, ge=1)
    history_page_max: int = Field(default=200, ge=1)
    sync_page_max: int = Field(default=500, ge=1)
    max_http_body_bytes: int = Field(default=256 * 1024, ge=1024)

    # Embedded key service (KMS). Its storage is never the chat database.
    kms_embedded: bool = True  # mount the key service at /kms inside `sealchat serve`
    kms_database_url: str = ""  # empty: a SQLite file under {data_dir}/kms/
    kms_root_key_file: Path | None = None  # empty: {data_dir}/kms/root.key
    kms_audience: str = "sealchat-kms"  # the audience of tokens the key service accepts
    kms_url: str = ""  # where clients reach the key service; empty: {public_url}/kms
    kms_default_key_id: str = "sealchat-messages"
    kms_admins: list[str] = []  # usernames allowed to create and rotate keys over HTTP
    kms_rate_per_second: float = Field(default=50.0, gt=0)
    kms_rate_burst: int = Field(default=200, ge=1)
    kms_port: int = Field(default=8001, ge=0, le=65535)  # for `sealchat kms serve`
    # Room-access grants: signed by the chat server, checked by the key service.
    grant_ttl_seconds: int = Field(default=120, ge=5)
    kms_grant_issuer: str = ""  # empty: this server's public URL
    kms_grant_jwks_url: str = ""  # empty: the in-process chat server's grant keys

    # The built web client; empty: web/dist of this checkout.
    web_dir: Path | None = None

    # key-service revocations
    # On the key service: valid revocation notices (signature checked first) draw from a
    # budget of their own, never from the per-address buckets of anonymous callers.
    kms_revocation_rate_per_second: float = Field(default=100.0, gt=0)
    kms_revocation_burst: int = Field(default=1000, ge=1)
    # On the key service: refusals written to the audit log one by one, per address
    # (anonymous callers) or per user; past that, they are counted into one summary row
    # per address or user at most every kms_audit_summary_seconds.
    kms_audit_refusal_rate_per_second: float = Field(default=1.0, gt=0)
    kms_audit_refusal_burst: int = Field(default=20, ge=1)
    kms_audit_summary_seconds: float = Field(default=10.0, gt=0)
    # On the chat server: a notice the key service has not accepted stays in the
    # revocation_outbox table and is re-sent with exponential backoff between these
    # delays (also after a restart); each attempt times out after the third.
    revocation_retry_initial_seconds: float = Field(default=1.0, gt=0)
    revocation_retry_max_seconds: float = Field(default=60.0, gt=0)
    revocation_timeout_seconds: float = Field(default=5.0, gt=0)

    # socket resource limits
    # A sync reply (and a history page) stops adding messages once their stored envelopes,
    # plus a fixed allowance per message, pass this many bytes; at least one message always.
    sync_reply_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    history_reply_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    # Token buckets per user (per server process), like the message rate.
    sync_rate_per_second: float = Field(default=5.0, gt=0)
    sync_rate_burst: int = Field(default=20, ge=1)
    typing_rate_per_second: float = Field(default=2.0, gt=0)
    typing_rate_burst: int = Field(default=10, ge=1)
    # An Engine.IO connection must finish the Socket.IO CONNECT with a valid token in time.
    socket_auth_deadline_seconds: float = Field(default=10.0, gt=0)
    # Open Engine.IO connections per client address (uvicorn's client address); 0: no cap.
    max_connections_per_address: int = Field(default=50, ge=0)
    # Events of one socket being handled at once; more are refused with ``rate_limited``.
    socket_max_pending_events: int = Field(default=128, ge=1)

    # group commit: the message store's writer. A send that finds write_queue_max
    # messages already waiting is refused (code unavailable) instead of queued.
    write_queue_max: int = Field(default=5000, ge=1)
    write_batch_max: int = Field(default=256, ge=1)  # messages per transaction at most
    # A busy writer (its last batch held several messages) starts at most one batch per
    # this many milliseconds, so the messages arriving in between share one transaction:
    # less CPU per message at a steady moderate load, a little more latency. 0 (the
    # default, as PostgreSQL's commit_delay): a batch whenever something waits.
    write_interval_ms: float = Field(default=0.0, ge=0, le=100)

    # HTTP and sign-in hardening
    # Addresses of reverse proxies whose X-Forwarded-For/-Proto headers are believed
    # (uvicorn's forwarded_allow_ips: comma-separated IPs or networks, "*" for any).
    # Empty: proxy headers are ignored and the peer address is the client's.
    forwarded_allow_ips: str = ""
    # Sign-ins and sign-ups per client address, before any password is hashed.
    auth_rate_per_minute: float = Field(default=20.0, gt=0)
    auth_rate_burst: int = Field(default=10, ge=1)
    # Password hashes waiting for a hashing slot; beyond that sign-ins get 503 at once.
    password_hash_queue: int = Field(default=16, ge=0)
    # Extra origins (scheme://host[:port]) allowed to use the refresh cookie routes,
    # besides the public URL's origin and the origin the request was addressed to.
    trusted_origins: list[str] = []
    # Serve the interactive API docs (/docs, /redoc, /openapi.json); off by default.
    api_docs: bool = False

    # websocket fast lane
    # One pre-built frame per broadcast written straight to each upgraded websocket with
    # nothing queued ahead of it (docs/architecture.md, "The websocket fast lane").
    websocket_fast_lane: bool = True
    # Client frames parsed by Sealchat (adapters/inbound_lane.py) instead of websockets, and
    # message:send handled as it arrives when the socket's reader is idle; with the fast
    # lane only. A kill switch: off, every frame takes websockets' parser and the queue.
    websocket_inbound_lane: bool = True
    # A socket whose unsent bytes (engine.io's queue plus the transport's buffer) pass
    # this is disconnected; its client reconnects and resumes with sync.
    socket_send_buffer_max_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024)
    # permessage-deflate for websockets; off: compressed sockets cannot take the lane.
    websocket_per_message_deflate: bool = False

    # cluster
    # Redis (redis://host:6379/0): fan-out between nodes (python-socketio's Redis manager
    # carrying each packet once per node), presence and per-user rate limits shared by
    # every node. Empty: one node, all of it in process. Nodes need PostgreSQL.
    redis_url: str = ""
    redis_channel: str = "sealchat"  # the pub/sub channel; the same on every node
    # A node that stops beating (killed) stops counting for presence after this long.
    presence_ttl_seconds: int = Field(default=30, ge=3)
    # `sealchat serve --workers N`: N processes sharing the port (websocket only);
    # more than 1 needs PostgreSQL and Redis.
    workers: int = Field(default=1, ge=1)
    # Engine.IO long-polling (the transport before a websocket upgrade, or instead of it).
    # Off with several workers on one port: a polling session lives in one process, and
    # the kernel hands each request to any of them. Behind nginx with sticky sessions
    # (deploy/nginx/sealchat.conf) it can stay on.
    long_polling: bool = True

    # keys in a cluster
    # The identity provider's and the grant signing keys: every node must read the same
    # files, e.g. one secrets directory mounted (read-only is fine once the keys exist) on
    # every node. Empty secrets_dir: the data dir; empty key dirs: {secrets_dir}/identity
    # and {secrets_dir}/grants.
    secrets_dir: Path | None = None
    identity_key_dir: Path | None = None
    grant_key_dir: Path | None = None
    # Nodes look for a changed key set (sealchat keys rotate) at most this often.
    key_reload_seconds: float = Field(default=5.0, ge=0)
    # `sealchat keys rotate` promotes a staged next key only once it is this old, so that
    # every node and every JWKS cache (max-age 300 s) has it before it signs.
    key_activation_delay_seconds: float = Field(default=300.0, ge=0)
    # Where chat nodes themselves reach a separate key service (revocations), when that
    # differs from the kms_url clients use (e.g. an internal address); empty: kms_url.
    kms_internal_url: str = ""
    # `sealchat serve` applies migrations at start (one node at a time: PostgreSQL
    # advisory lock). Off: a node only checks that the schema is current and refuses to
    # start otherwise; run `sealchat migrate` once before rolling the nodes.
    migrate_on_start: bool = True

    # sign-in and key service providers
    # Who signs people in: the embedded identity provider, any OpenID Connect provider,
    # or an AWS Cognito user pool. In oidc and cognito mode /api/auth/* is not mounted.
    auth: Literal["embedded", "oidc", "cognito"] = "embedded"
    # Cognito: the issuer is https://cognito-idp.{region}.amazonaws.com/{user_pool_id} and
    # the JWKS {issuer}/.well-known/jwks.json unless SEALCHAT_TOKEN_ISSUER/_JWKS_URL say
    # otherwise. client_id is the app client whose tokens the chat server accepts.
    cognito_region: str = ""
    cognito_user_pool_id: str = ""
    cognito_client_id: str = ""
    cognito_identity_pool_id: str = ""
    # Which Cognito tokens the chat server accepts: access, id or both.
    cognito_token_use: list[Literal["access", "id"]] = ["access", "id"]
    # Endpoint overrides (a local stand-in such as moto); empty: the AWS endpoints.
    cognito_idp_endpoint: str = ""
    cognito_identity_endpoint: str = ""
    # OIDC: the JWKS comes from {issuer}/.well-known/openid-configuration (jwks_uri)
    # unless SEALCHAT_JWKS_URL is set. The audience defaults to the client id.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_audience: str = ""
    oidc_scopes: str = "openid profile"
    # The claim that names a new user; empty: preferred_username, then email, then sub.
    oidc_username_claim: str = ""
    # Grace for exp/nbf/iat against the issuer's clock (every mode).
    token_clock_skew_seconds: float = Field(default=5.0, ge=0, le=300)
    # Where clients get data keys: the embedded key service, or AWS KMS (with the
    # person's own AWS credentials from the Cognito identity pool).
    key_service: Literal["embedded", "aws-kms"] = "embedded"
    aws_kms_key_id: str = ""  # key id, ARN or alias
    aws_region: str = ""  # empty: the Cognito region
    aws_kms_endpoint: str = ""
    # Where this project's docs/ pages are published (e.g. a repository's docs folder);
    # clients link their trust indicator there. Empty: they name the page instead.
    docs_url: str = ""

    # Sealed files (docs/protocol.md §3.6): where blobs live, how big and how many.
    # Empty blob_url: {data_dir}/blobs on local disk; s3://bucket/prefix: any S3 store.
    blob_url: str = ""
    blob_s3_endpoint: str = ""  # empty: AWS's own endpoint for the region
    blob_s3_region: str = ""  # empty: SEALCHAT_AWS_REGION, then boto3's default
    max_upload_bytes: int = Field(default=100 * 1024 * 1024, ge=1024)
    # What one user's blobs may add up to (the blobs not yet removed).
    blob_quota_bytes: int = Field(default=2 * 1024 * 1024 * 1024, ge=1024)
    # A blob no message names within this long is removed, as are blobs of deleted messages.
    blob_orphan_seconds: float = Field(default=3600.0, ge=1)
    blob_cleanup_interval_seconds: float = Field(default=300.0, ge=0)

    # refresh-token reuse grace (embedded identity provider)
    # How long the refresh token a session just spent may be presented again (a page
    # reloaded while its refresh was on the way never saw the new cookie): it continues the
    # session once more. Older tokens, or this one later, still revoke the session. 0: none.
    refresh_reuse_grace_seconds: float = Field(default=30.0, ge=0, le=300)

    # operations: metrics and logs (docs/operations.md)
    # /metrics on a port of its own (0: none), on this interface; and/or on the main port
    # behind this bearer token (empty: not on the main port). Either may be set, or both.
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    metrics_token: str = ""
    # How often the open-connection gauge is sampled.
    metrics_sample_seconds: float = Field(default=5.0, gt=0)
    # One line per event: plain text, or one JSON object per line.
    log_format: Literal["text", "json"] = "text"
    # How often each server process re-reads disabled accounts and revoked sessions
    # (`sealchat admin`): the longest a disabled user's sockets stay open.
    account_check_seconds: float = Field(default=5.0, gt=0)
    # Retention, run by a job inside the server every retention_interval_seconds:
    # messages older than this many days are deleted for good in rooms without their
    # own retention (0: kept forever); expired refresh tokens are purged. The key
    # service deletes audit records older than kms_audit_retention_days (0: kept).
    message_retention_days: float = Field(default=0.0, ge=0)
    retention_interval_seconds: float = Field(default=3600.0, gt=0)
    kms_audit_retention_days: float = Field(default=0.0, ge=0)
    # Abuse limits beside SEALCHAT_MAX_CONNECTIONS_PER_ADDRESS: authenticated sockets per
    # user on one node, and Engine.IO handshakes per client address (0: no limit).
    max_connections_per_user: int = Field(default=20, ge=0)
    handshake_rate_per_second: float = Field(default=5.0, ge=0)
    handshake_rate_burst: int = Field(default=30, ge=1)

    # slow clients
    # A connection whose request head (request line and headers) is not complete this
    # many seconds after it opened, or after the request began, is closed (0: no deadline).
    http_header_timeout_seconds: float = Field(default=20.0, ge=0)

    def cluster_problem(self) -> str | None:
        """Why this configuration cannot run as several nodes (or workers), if it can't."""
        if self.resolved_database_url().startswith("sqlite"):
            return (
                "several workers or nodes need PostgreSQL (SEALCHAT_DATABASE_URL): SQLite "
                "is one file on one machine, written by one process's message writer"
            )
        if not self.redis_url:
            return (
                "several workers or nodes need Redis (SEALCHAT_REDIS_URL) for fan-out, "
                "presence and rate limits between them"
            )
        return None

    def resolved_identity_key_dir(self) -> Path:
        return self.identity_key_dir or (self.secrets_dir or self.data_dir) / "identity"

    def resolved_grant_key_dir(self) -> Path:
        return self.grant_key_dir or (self.secrets_dir or self.data_dir) / "grants"

    def identity_key_verify_seconds(self) -> float:
        """How long a retired identity key must stay published: its tokens' lifetime."""
        return self.access_token_ttl_seconds + 60.0

    def grant_key_verify_seconds(self) -> float:
        """The same for the grant key: grants, and revocation notices (300 s)."""
        return max(self.grant_ttl_seconds, 300) + 60.0

    def resolved_web_dir(self) -> Path:
        return self.web_dir or Path(__file__).resolve().parent.parent / "web" / "dist"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'sealchat.db').resolve()}"

    def resolved_public_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"

    def resolved_issuer(self) -> str:
        if self.token_issuer:
            return self.token_issuer
        if self.auth == "cognito":
            return self.cognito_issuer()
        if self.auth == "oidc":
            return self.oidc_issuer.rstrip("/")
        return self.resolved_public_url()

    def cognito_issuer(self) -> str:
        return (
            f"https://cognito-idp.{self.cognito_region}.amazonaws.com/{self.cognito_user_pool_id}"
        )

    def resolved_jwks_url(self) -> str:
        """The external provider's JWKS; empty: embedded, or OIDC discovery finds it."""
        if self.jwks_url or self.auth != "cognito":
            return self.jwks_url
        return f"{self.resolved_issuer()}/.well-known/jwks.json"

    def resolved_token_audience(self) -> str:
        """The audience (Cognito: app client id) of tokens the chat server accepts."""
        if self.auth == "cognito":
            return self.cognito_client_id
        if self.auth == "oidc":
            return self.oidc_audience or self.oidc_client_id
        return self.token_audience

    def resolved_kms_audience(self) -> str:
        """The embedded key service accepts the provider's own tokens in oidc and cognito
        mode (the chat server's audience: external providers mint no second audience)."""
        return self.kms_audience if self.auth == "embedded" else self.resolved_token_audience()

    def resolved_token_algorithms(self) -> list[str]:
        if self.auth == "embedded" or "token_algorithms" in self.model_fields_set:
            return self.token_algorithms
        return list(EXTERNAL_TOKEN_ALGORITHMS)

    def resolved_aws_region(self) -> str:
        return self.aws_region or self.cognito_region

    def provider_urls(self) -> list[str]:
        """What the web client calls besides this server (its connect-src)."""
        urls: list[str] = []
        region = self.cognito_region
        if self.auth == "cognito":
            urls += [
                self.cognito_idp_endpoint or f"https://cognito-idp.{region}.amazonaws.com",
                self.cognito_identity_endpoint
                or f"https://cognito-identity.{region}.amazonaws.com",
            ]
        elif self.auth == "oidc":
            urls.append(self.resolved_issuer())
        if self.key_service == "aws-kms":
            urls.append(
                self.aws_kms_endpoint or f"https://kms.{self.resolved_aws_region()}.amazonaws.com"
            )
        return urls

    def provider_problem(self) -> str | None:
        """What is missing for the configured sign-in and key service, if anything."""
        needed: list[tuple[str, str]] = []
        if self.auth == "cognito":
            needed += [
                ("SEALCHAT_COGNITO_REGION", self.cognito_region),
                ("SEALCHAT_COGNITO_USER_POOL_ID", self.cognito_user_pool_id),
                ("SEALCHAT_COGNITO_CLIENT_ID", self.cognito_client_id),
            ]
        elif self.auth == "oidc":
            needed += [
                ("SEALCHAT_OIDC_ISSUER", self.oidc_issuer),
                ("SEALCHAT_OIDC_CLIENT_ID", self.oidc_client_id),
            ]
        if self.key_service == "aws-kms":
            needed += [
                ("SEALCHAT_AWS_KMS_KEY_ID", self.aws_kms_key_id),
                ("SEALCHAT_AWS_REGION (or SEALCHAT_COGNITO_REGION)", self.resolved_aws_region()),
            ]
        missing = [name for name, value in needed if not value]
        if missing:
            return (
                f"SEALCHAT_AUTH={self.auth} with SEALCHAT_KEY_SERVICE={self.key_service} "
                f"needs {', '.join(missing)}"
            )
        return None

    def resolved_kms_database_url(self) -> str:
        if self.kms_database_url:
            return self.kms_database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'kms' / 'kms.db').resolve()}"

    def resolved_kms_root_key_file(self) -> Path:
        return self.kms_root_key_file or self.data_dir / "kms" / "root.key"

    def resolved_kms_url(self) -> str:
        return (self.kms_url or f"{self.resolved_public_url()}/kms").rstrip("/")

    def resolved_kms_internal_url(self) -> str:
        return self.kms_internal_url.rstrip("/") or self.resolved_kms_url()

    def resolved_grant_issuer(self) -> str:
        return self.kms_grant_issuer or self.resolved_public_url()

    @property
    def uses_embedded_identity(self) -> bool:
        return self.auth == "embedded" and not self.jwks_url

    @property
    def uses_embedded_key_service(self) -> bool:
        return self.key_service == "embedded"

    @property
    def public_url_is_https(self) -> bool:
        return self.resolved_public_url().lower().startswith("https://")
