"""Public room names unique (case-insensitive) among live rooms; rooms without members archived.

Revision ID: 0007
Revises: 0006

Existing data: rooms nobody is in are archived first; then, among the live public rooms
whose names differ only in case, the oldest keeps its name and the others get a suffix
(" (2)", " (3)", ...) so that the unique index can be built.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ROOM_NAME_MAX = 80
LIVE_PUBLIC_ROOM = sa.text("visibility = 'public' AND archived_at IS NULL")

rooms = sa.table(
    "rooms",
    sa.column("id", sa.String),
    sa.column("name", sa.String),
    sa.column("visibility", sa.String),
    sa.column("created_at", sa.DateTime(timezone=True)),
    sa.column("archived_at", sa.DateTime(timezone=True)),
)
memberships = sa.table("memberships", sa.column("room_id", sa.String))


def upgrade() -> None:
    with op.batch_alter_table("rooms") as batch:
        batch.add_column(sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    conn = op.get_bind()
    _archive_empty_rooms(conn)
    _rename_duplicates(conn)
    op.create_index(
        "uq_rooms_public_name",
        "rooms",
        [sa.text("lower(name)")],
        unique=True,
        sqlite_where=LIVE_PUBLIC_ROOM,
        postgresql_where=LIVE_PUBLIC_ROOM,
    )


def downgrade() -> None:
    op.drop_index("uq_rooms_public_name", table_name="rooms")
    with op.batch_alter_table("rooms") as batch:
        batch.drop_column("archived_at")


def _archive_empty_rooms(conn: sa.Connection) -> None:
    has_members = sa.exists().where(memberships.c.room_id == rooms.c.id)
    conn.execute(
        rooms.update()
        .where(rooms.c.visibility != "direct", ~has_members)
        .values(archived_at=datetime.now(UTC))
    )


def _rename_duplicates(conn: sa.Connection) -> None:
    live = conn.execute(
        sa.select(rooms.c.id, rooms.c.name)
        .where(rooms.c.visibility == "public", rooms.c.archived_at.is_(None))
        .order_by(rooms.c.created_at, rooms.c.id)
    ).all()
    taken = {name.lower() for _, name in live}
    seen: set[str] = set()
    for room_id, name in live:
        if name.lower() not in seen:
            seen.add(name.lower())
            continue
        number = 2
        while True:
            suffix = f" ({number})"
            candidate = name[: ROOM_NAME_MAX - len(suffix)] + suffix
            if candidate.lower() not in taken:
                break
            number += 1
        taken.add(candidate.lower())
        seen.add(candidate.lower())
        conn.execute(rooms.update().where(rooms.c.id == room_id).values(name=candidate))
