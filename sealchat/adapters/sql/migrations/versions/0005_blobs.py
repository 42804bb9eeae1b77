"""Sealed files: blob metadata and which message names which blob.

Revision ID: 0005
Revises: 0004

(Written beside other branches' revisions: at merge this is re-chained onto the last.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "blobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("uploader_id", sa.String(36), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("referenced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_blobs_room_id_rooms", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_blobs"),
    )
    op.create_index("ix_blobs_uploader_id", "blobs", ["uploader_id"])
    op.create_index("ix_blobs_referenced_at", "blobs", ["referenced_at"])
    op.create_table(
        "message_attachments",
        sa.Column("message_id", sa.String(36), nullable=False),
        sa.Column("blob_id", sa.String(36), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name="fk_message_attachments_message_id_messages",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["blob_id"],
            ["blobs.id"],
            name="fk_message_attachments_blob_id_blobs",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "blob_id", name="pk_message_attachments"),
    )
    op.create_index("ix_message_attachments_blob_id", "message_attachments", ["blob_id"])


def downgrade() -> None:
    op.drop_index("ix_message_attachments_blob_id", table_name="message_attachments")
    op.drop_table("message_attachments")
    op.drop_index("ix_blobs_referenced_at", table_name="blobs")
    op.drop_index("ix_blobs_uploader_id", table_name="blobs")
    op.drop_table("blobs")
