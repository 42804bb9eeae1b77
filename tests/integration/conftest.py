from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest

from sealchat.client import SealchatClient
from tests.live_server import LiveServer, start_server

PASSWORD = "correct horse battery staple"
ClientFactory = Callable[..., Awaitable[SealchatClient]]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = start_server(tmp_path_factory.mktemp("server"))
    yield live
    live.stop()


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
