from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from sealchat.client import SealchatClient
from tests.live_server import LiveServer, start_server
from tests.pg_support import create_temp_database, drop_database

PASSWORD = "correct horse battery staple"
ClientFactory = Callable[..., Awaitable[SealchatClient]]


@pytest.fixture(
    scope="module",
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A live server per test module, on a SQLite file and on a fresh PostgreSQL database."""
    # Skips (or fails in CI) with a clear message when PostgreSQL is not reachable.
    database_url = asyncio.run(create_temp_database()) if request.param == "postgres" else None
    env = {"SEALCHAT_DATABASE_URL": database_url} if database_url else {}
    live = start_server(tmp_path_factory.mktemp(f"server-{request.param}"), env)
    yield live
    live.stop()
    if database_url:
        asyncio.run(drop_database(database_url))


def unique_name(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def new_client(server: LiveServer) -> AsyncIterator[ClientFactory]:
    """Register a fresh user per call; ``connect=True`` also opens its socket."""
    made: list[SealchatClient] = []

    async def make(username: str | None = None, *, connect: bool = False) -> SealchatClient:
        client = SealchatClient(server.url)
        made.append(client)
        await client.register(username or unique_name(), PASSWORD)
        if connect:
            await client.connect()
        return client

    yield make
    for client in made:
        await client.close()
