"""Every storage contract test runs once per backend: a SQLite file and PostgreSQL.

Each backend gets one database per session, migrated with the real migrations; every
test starts from empty tables.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.migrate import upgrade_to_head
from sealchat.adapters.sql.storage import (
    SqlMessageStore,
    SqlRoomStore,
    SqlUserStore,
    open_message_writer,
)
from sealchat.adapters.sql.tables import metadata
from sealchat.domain.models import Room, User, Visibility
from tests.pg_support import create_temp_database, drop_database

UserFactory = Callable[..., Awaitable[User]]
RoomFactory = Callable[..., Awaitable[Room]]

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "contract.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_to_head(url)
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_url() -> AsyncIterator[str]:
    url = await create_temp_database()
    try:
        await upgrade_to_head(url)
        yield url
    finally:
        await drop_database(url)


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> str:
    # Looked up by name so that a run with only SQLite never touches PostgreSQL.
    url: str = request.getfixturevalue(f"{request.param}_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        for table in reversed(metadata.sorted_tables):
            await conn.execute(table.delete())
    yield engine
    await engine.dispose()


@pytest.fixture
def users(engine: AsyncEngine) -> SqlUserStore:
    return SqlUserStore(engine)


@pytest.fixture
def rooms(engine: AsyncEngine) -> SqlRoomStore:
    return SqlRoomStore(engine)


@pytest.fixture
async def messages(engine: AsyncEngine) -> AsyncIterator[SqlMessageStore]:
    """The store as the server wires it: appends go through the group-commit writer."""
    async with open_message_writer(engine, queue_max=5000, batch_max=256) as writer:
        assert writer is not None
        yield SqlMessageStore(engine, writer)


def new_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def make_user(users: SqlUserStore) -> UserFactory:
    """Store a user (memberships need one) and return it."""

    async def make(username: str | None = None) -> User:
        user = User(id=new_id(), username=username or f"user-{uuid.uuid4().hex[:8]}")
        await users.upsert_user(user)
        return user

    return make


@pytest.fixture
def make_room(rooms: SqlRoomStore) -> RoomFactory:
    """Create a room owned by ``owner`` and return it."""

    async def make(
        owner: User, name: str = "general", visibility: Visibility = Visibility.PUBLIC
    ) -> Room:
        room = Room(
            id=new_id(),
            name=name,
            visibility=visibility,
            created_by=owner.id,
            created_at=datetime.now(UTC),
        )
        return await rooms.create_room(room, owner.id)

    return make
