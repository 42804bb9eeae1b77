"""Invitations: adding someone to a room asks for their consent.

Revision ID: 0002
Revises: 0001

Constraint names are spelled out to equal what tables.py's naming convention gives.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "invitations",
        sa.Column("room_id", sa.String(36), nullable=False),
        sa.Column("invitee_id", sa.String(36), nullable=False),
        sa.Column("inviter_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("room_id", "invitee_id", name="pk_invitations"),
        sa.ForeignKeyConstraint(
            ["room_id"], ["rooms.id"], name="fk_invitations_room_id_rooms", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["invitee_id"],
            ["users.id"],
            name="fk_invitations_invitee_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"],
            ["users.id"],
            name="fk_invitations_inviter_id_users",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_invitations_invitee_id", "invitations", ["invitee_id"])


def downgrade() -> None:
    op.drop_index("ix_invitations_invitee_id", table_name="invitations")
    op.drop_table("invitations")
