"""The revocation outbox: key-service revocation notices waiting to be accepted.

Revision ID: 0003
Revises: 0002

(Written beside another branch's 0002: at merge this is re-chained onto it.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "revocation_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("revoked_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_revocation_outbox"),
    )
    op.create_index(
        "ix_revocation_outbox_next_attempt_at", "revocation_outbox", ["next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_revocation_outbox_next_attempt_at", table_name="revocation_outbox")
    op.drop_table("revocation_outbox")
