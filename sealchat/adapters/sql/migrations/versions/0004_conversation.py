"""Conversation: relations between messages, deletion, read markers.

Revision ID: 0004
Revises: 0003

(Written beside other branches' migrations: at merge this is re-chained onto them.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # SQLite cannot drop NOT NULL in place: batch mode rebuilds the table.
    with op.batch_alter_table("messages") as batch:
        batch.alter_column("envelope", existing_type=sa.Text(), nullable=True)
        batch.add_column(sa.Column("relates_type", sa.String(16), nullable=True))
        batch.add_column(sa.Column("relates_to", sa.String(36), nullable=True))
        batch.add_column(
            sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.create_index(
        "ix_messages_relates_to",
        "messages",
        ["relates_to"],
        sqlite_where=sa.text("relates_to IS NOT NULL"),
        postgresql_where=sa.text("relates_to IS NOT NULL"),
    )
    op.add_column(
        "memberships",
        sa.Column("last_read_seq", sa.BigInteger(), server_default="0", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("memberships", "last_read_seq")
    op.drop_index("ix_messages_relates_to", table_name="messages")
    # Deleted messages and deletion markers have no envelope to put back: they go.
    op.execute("DELETE FROM messages WHERE envelope IS NULL")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("deleted")
        batch.drop_column("relates_to")
        batch.drop_column("relates_type")
        batch.alter_column("envelope", existing_type=sa.Text(), nullable=False)
