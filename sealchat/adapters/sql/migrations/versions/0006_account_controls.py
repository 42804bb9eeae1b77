"""Operators' controls: disabled accounts, sessions revoked at a time, room retention.

Revision ID: 0006
Revises: 0005

(Written beside other branches' migrations: at merge this is re-chained.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "users", sa.Column("sessions_revoked_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index("ix_users_disabled_at", "users", ["disabled_at"])
    op.create_index("ix_users_sessions_revoked_at", "users", ["sessions_revoked_at"])
    op.add_column("rooms", sa.Column("retention_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("retention_days")
    op.drop_index("ix_users_sessions_revoked_at", table_name="users")
    op.drop_index("ix_users_disabled_at", table_name="users")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("sessions_revoked_at")
        batch.drop_column("disabled_at")
