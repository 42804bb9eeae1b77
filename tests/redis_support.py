"""Redis for tests: skipped when it cannot be reached, except in CI (``CI=true``)."""

from __future__ import annotations

import os
import secrets
from typing import NoReturn

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from tests.pg_support import in_ci

URL_ENV = "SEALCHAT_TEST_REDIS_URL"
DEFAULT_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    return os.environ.get(URL_ENV) or DEFAULT_URL


def redis_unavailable(reason: str) -> NoReturn:
    message = f"Redis is not reachable at {redis_url()} ({reason}); start it or set {URL_ENV}"
    if in_ci():
        pytest.fail(f"{message}. CI=true, so the Redis tests must run.", pytrace=False)
    pytest.skip(message)


async def require_redis() -> str:
    """The URL of a Redis that answers a PING, or skip (fail in CI)."""
    client = Redis.from_url(redis_url(), socket_connect_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        redis_unavailable(f"{type(exc).__name__}: {exc}")
    finally:
        await client.aclose()
    return redis_url()


def unique_channel() -> str:
    """A pub/sub channel and key prefix of one's own: other test runs share the Redis."""
    return f"sealchat-test-{secrets.token_hex(6)}"
