"""A database that cannot be reached surfaces as ``Unavailable``, never a driver error."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from sealchat.adapters.sql.engine import create_engine
from sealchat.adapters.sql.migrate import upgrade_to_head
from sealchat.adapters.sql.storage import SqlMessageStore, SqlRoomStore, SqlUserStore
from sealchat.domain.errors import Unavailable
from sealchat.domain.models import NewMessage, User

# Nothing listens on port 1; no PostgreSQL server is needed for these tests.
DEAD_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:1/sealchat"


def dead_sqlite(tmp_path: Path) -> str:
    # A directory where the database file should be: SQLite cannot open it.
    (tmp_path / "db").mkdir()
    return f"sqlite+aiosqlite:///{tmp_path / 'db'}"


@pytest.fixture(params=["postgres", "sqlite"])
async def dead_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    yield DEAD_POSTGRES if request.param == "postgres" else dead_sqlite(tmp_path)
    # After a failed connect aiosqlite stops its worker thread without waiting for it;
    # the thread then reports to this test's event loop, which must still be open.
    for thread in threading.enumerate():
        if "_connection_worker_thread" in thread.name:
            await asyncio.to_thread(thread.join, 5)


@pytest.fixture
async def dead_engine(dead_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(dead_url)
    yield engine
    await engine.dispose()


async def test_every_store_reports_unavailable(dead_engine: AsyncEngine) -> None:
    with pytest.raises(Unavailable):
        await SqlUserStore(dead_engine).upsert_user(User(id="u", username="u"))
    with pytest.raises(Unavailable):
        await SqlUserStore(dead_engine).get_user("u")
    with pytest.raises(Unavailable):
        await SqlRoomStore(dead_engine).list_user_rooms("u")
    with pytest.raises(Unavailable):
        await SqlMessageStore(dead_engine).append_message(NewMessage("m", "r", "u", "c", "{}"))
    with pytest.raises(Unavailable):
        await SqlMessageStore(dead_engine).list_messages("r")


async def test_migrating_reports_unavailable(dead_url: str) -> None:
    with pytest.raises(Unavailable):
        await upgrade_to_head(dead_url)
