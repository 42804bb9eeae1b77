"""Refresh tokens name their successor (the reuse grace of docs/protocol.md §2.3).

Revision ID: 0008
Revises: 0007

(Written after conv-server's 0004, beside other branches' migrations: re-chained at
merge.)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("idp_refresh_tokens") as batch:
        batch.add_column(sa.Column("replaced_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idp_refresh_tokens") as batch:
        batch.drop_column("replaced_by")
