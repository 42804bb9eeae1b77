"""The key service's tables, in their own MetaData: they never live in the chat database.

The schema is created with ``metadata.create_all`` at startup. Alembic migrations (as
for the chat database) come with the first change to it; ``kms_meta.schema_version``
says which schema a database holds.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

from sealchat.adapters.sql.tables import NAMING_CONVENTION, UTCDateTime

SCHEMA_VERSION = "1"

metadata = MetaData(naming_convention=NAMING_CONVENTION)

KEY_ID = String(128)

kms_meta = Table(
    "kms_meta",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

kms_keys = Table(
    "kms_keys",
    metadata,
    Column("key_id", KEY_ID, primary_key=True),
    Column("description", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("current_version", Integer, nullable=False),
    # Set while an operator has disabled the key: no data key is made or opened with it.
    Column("disabled_at", UTCDateTime(), nullable=True),
)

kms_key_versions = Table(
    "kms_key_versions",
    metadata,
    Column("key_id", KEY_ID, ForeignKey("kms_keys.key_id"), nullable=False),
    Column("version", Integer, nullable=False),
    # nonce (12 bytes) || AES-256-GCM(root key, material) with its tag. Never the material.
    Column("wrapped_material", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    PrimaryKeyConstraint("key_id", "version", name="pk_kms_key_versions"),
)

kms_audit = Table(
    "kms_audit",
    metadata,
    # SQLite autoincrements only INTEGER PRIMARY KEY.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor_user_id", String(128), nullable=True),
    Column("actor_username", String(128), nullable=True),
    Column("operation", String(32), nullable=False),
    Column("key_id", KEY_ID, nullable=True),
    Column("key_version", Integer, nullable=True),
    Column("encryption_context", Text, nullable=True),  # canonical JSON
    Column("allowed", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("source", String(64), nullable=True),
)
Index("ix_kms_audit_at", kms_audit.c.at)

# When the chat server last ended a user's membership of a room: grants issued before
# then are refused, so a removed member cannot use a grant fetched while still a member.
kms_revocations = Table(
    "kms_revocations",
    metadata,
    Column("user_id", String(128), nullable=False),
    Column("room_id", String(128), nullable=False),
    Column("revoked_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "room_id", name="pk_kms_revocations"),
)
