"""The Presence and RateLimiter ports on Redis, against the machine's Redis: two
instances stand for two nodes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from sealchat.adapters.redis_presence import RedisPresence
from sealchat.adapters.redis_rate_limit import RedisTokenBucketLimiter
from sealchat.domain.errors import RateLimited
from sealchat.services.presence import PresenceTracker
from tests.redis_support import require_redis, unique_channel


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(await require_redis())
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return unique_channel() + ":"


async def test_presence_counts_sockets_of_every_node(redis: Redis, prefix: str) -> None:
    one = RedisPresence(redis, ttl_seconds=30, prefix=prefix)
    two = RedisPresence(redis, ttl_seconds=30, prefix=prefix)
    assert await one.socket_opened("alice") is True  # first socket anywhere
    assert await two.socket_opened("alice") is False  # online already, via node one
    assert await two.online(["alice", "bob"]) == {"alice"}
    assert await one.socket_closed("alice") is False  # still on node two
    assert await two.socket_closed("alice") is True
    assert await one.online(["alice"]) == set()


async def test_a_dead_node_stops_keeping_its_users_online(redis: Redis, prefix: str) -> None:
    alive = RedisPresence(redis, ttl_seconds=3, prefix=prefix)
    dead = RedisPresence(redis, ttl_seconds=3, prefix=prefix)
    async with alive.running():
        await dead.socket_opened("carol")  # and then the node is killed: no more beats
        await alive.socket_opened("dave")
        assert await alive.online(["carol", "dave"]) == {"carol", "dave"}
        await asyncio.sleep(4.5)
        assert await alive.online(["carol", "dave"]) == {"dave"}
        # carol's client reconnects to the live node: she is online again, once.
        assert await alive.socket_opened("carol") is True


async def test_presence_in_memory_has_the_same_contract() -> None:
    presence = PresenceTracker()
    assert await presence.socket_opened("alice") is True
    assert await presence.socket_opened("alice") is False
    assert await presence.socket_closed("alice") is False
    assert await presence.online(["alice", "bob"]) == {"alice"}
    assert await presence.socket_closed("alice") is True


async def test_one_bucket_per_user_whichever_node(redis: Redis, prefix: str) -> None:
    one = RedisTokenBucketLimiter(redis, 1.0, 3, what="messages", prefix=prefix)
    two = RedisTokenBucketLimiter(redis, 1.0, 3, what="messages", prefix=prefix)
    await one.take("alice")
    await two.take("alice")
    await one.take("alice")
    with pytest.raises(RateLimited) as refused:
        await two.take("alice")
    assert 0 < refused.value.retry_after <= 1.0
    assert "too many messages" in refused.value.message
    await two.take("bob")  # another user's bucket is full
    await asyncio.sleep(refused.value.retry_after + 0.05)
    await one.take("alice")  # refilled
