"""Table definitions for the chat store and the embedded identity provider.

The identity provider's tables (``idp_*``) are only touched by ``sealchat.identity``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ID = String(36)

users = Table(
    "users",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # Set by an operator (`sealchat admin users disable`): no sign-in, refresh or socket.
    Column("disabled_at", UTCDateTime(), nullable=True),
    # Access tokens issued before this are refused (`sealchat admin users revoke-sessions`).
    Column("sessions_revoked_at", UTCDateTime(), nullable=True),
)
Index("ix_users_disabled_at", users.c.disabled_at)
Index("ix_users_sessions_revoked_at", users.c.sessions_revoked_at)

rooms = Table(
    "rooms",
    metadata,
    Column("id", ID, primary_key=True),
    Column("name", String(80), nullable=False),
    Column("visibility", String(16), nullable=False),
    Column("created_by", ID, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # The last sequence number handed out; bumped in the transaction storing a message.
    Column("last_seq", BigInteger, nullable=False, server_default="0"),
    # Set for direct rooms only: one room per pair of people.
    Column("dm_key", String(80), nullable=True, unique=True),
    # Set when the last member left: hidden from the directory, its name free again.
    Column("archived_at", UTCDateTime(), nullable=True),
    # Messages older than this many days are deleted for good (NULL: the server default).
    Column("retention_days", Integer, nullable=True),
)
Index("ix_rooms_visibility", rooms.c.visibility)
# A public room's name is unique on the server, whatever its case, among live rooms.
LIVE_PUBLIC_ROOM = text("visibility = 'public' AND archived_at IS NULL")
Index(
    "uq_rooms_public_name",
    func.lower(rooms.c.name),
    unique=True,
    sqlite_where=LIVE_PUBLIC_ROOM,
    postgresql_where=LIVE_PUBLIC_ROOM,
)

memberships = Table(
    "memberships",
    metadata,
    Column("room_id", ID, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),
    Column("joined_at", UTCDateTime(), nullable=False),
    # The read marker: the member has read the room up to this seq (never moves back).
    Column("last_read_seq", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("room_id", "user_id", name="pk_memberships"),
)
Index("ix_memberships_user_id", memberships.c.user_id)

# Pending invitations; accepting one deletes it and inserts the membership atomically.
invitations = Table(
    "invitations",
    metadata,
    Column("room_id", ID, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("invitee_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("inviter_id", ID, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("room_id", "invitee_id", name="pk_invitations"),
)
Index("ix_invitations_invitee_id", invitations.c.invitee_id)

messages = Table(
    "messages",
    metadata,
    Column("id", ID, primary_key=True),
    Column("room_id", ID, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("sender_id", ID, nullable=False),
    Column("client_msg_id", String(64), nullable=False),
    # The sealed envelope as the client sent it (JSON text). Never plaintext. NULL once
    # the message is deleted (erased, not hidden) and for deletion markers.
    Column("envelope", Text, nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    # A relation (reply, edit, reaction, delete) names its type and its target message.
    Column("relates_type", String(16), nullable=True),
    Column("relates_to", ID, nullable=True),
    Column("deleted", Boolean, nullable=False, server_default=false()),
    UniqueConstraint("room_id", "seq", name="uq_messages_room_seq"),
    UniqueConstraint("room_id", "sender_id", "client_msg_id", name="uq_messages_client_msg"),
)
# Partial: plain messages (the hot path) add no entry to it.
Index(
    "ix_messages_relates_to",
    messages.c.relates_to,
    sqlite_where=messages.c.relates_to.is_not(None),
    postgresql_where=messages.c.relates_to.is_not(None),
)

idp_accounts = Table(
    "idp_accounts",
    metadata,
    Column("id", ID, primary_key=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("password_hash", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", UTCDateTime(), nullable=True),
)

idp_refresh_tokens = Table(
    "idp_refresh_tokens",
    metadata,
    # SHA-256 of the opaque token; the token itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("family_id", ID, nullable=False),
    Column("account_id", ID, ForeignKey("idp_accounts.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
    # The token issued when this one was spent (its hash): the one a presentation within
    # the reuse grace spends in turn, so the family keeps one live token.
    Column("replaced_by", String(64), nullable=True),
)
Index("ix_idp_refresh_tokens_family_id", idp_refresh_tokens.c.family_id)

# Revocation notices the key service has not accepted yet (docs/key-service.md §4.1):
# a row is written right after a membership ends and deleted once the key service
# accepts the notice; until then it is re-sent with backoff, also after a restart.
revocation_outbox = Table(
    "revocation_outbox",
    metadata,
    # SQLite autoincrements only INTEGER PRIMARY KEY.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("user_id", ID, nullable=False),
    Column("room_id", ID, nullable=False),
    # When the membership ended (the chat server's clock, ms): grants issued at or
    # before it are refused by the key service.
    Column("revoked_at_ms", BigInteger, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=True),
)
Index("ix_revocation_outbox_next_attempt_at", revocation_outbox.c.next_attempt_at)

# Sealed files' ciphertext lives in the blob store; this is what the server knows of it.
# The name, media type and key are only inside the sealed message that names the blob.
blobs = Table(
    "blobs",
    metadata,
    Column("id", ID, primary_key=True),
    Column("room_id", ID, ForeignKey("rooms.id", ondelete="CASCADE"), nullable=False),
    Column("uploader_id", ID, nullable=False),
    # Bytes of ciphertext; counted against the uploader's quota while the blob exists.
    Column("size", BigInteger, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    # Set when the upload completed; until then the blob cannot be read or attached.
    Column("stored_at", UTCDateTime(), nullable=True),
    # Set when a message first names it; never set after an hour: an orphan, removed.
    Column("referenced_at", UTCDateTime(), nullable=True),
)
Index("ix_blobs_uploader_id", blobs.c.uploader_id)
Index("ix_blobs_referenced_at", blobs.c.referenced_at)

# Which message names which blob: a deleted message's blobs are the referenced blobs
# that no row here names any more.
message_attachments = Table(
    "message_attachments",
    metadata,
    Column("message_id", ID, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False),
    Column("blob_id", ID, ForeignKey("blobs.id", ondelete="CASCADE"), nullable=False),
    PrimaryKeyConstraint("message_id", "blob_id", name="pk_message_attachments"),
)
Index("ix_message_attachments_blob_id", message_attachments.c.blob_id)
