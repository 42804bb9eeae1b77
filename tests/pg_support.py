"""PostgreSQL for tests: a throwaway database per test session.

``SEALCHAT_TEST_POSTGRES_URL`` names the server and a database to administer it from.
When the server cannot be reached the PostgreSQL tests are skipped, except in CI
(``CI=true``), where they fail: a broken database service must not turn CI green.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import NoReturn

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import URL, make_url

ADMIN_URL_ENV = "SEALCHAT_TEST_POSTGRES_URL"
DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
DATABASE_PREFIX = "sealchat_test_"


def admin_url() -> str:
    """The SQLAlchemy URL of the administration database (not one to run tests in)."""
    return os.environ.get(ADMIN_URL_ENV) or DEFAULT_ADMIN_URL


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def postgres_unavailable(reason: str) -> NoReturn:
    """Skip the calling test (or fixture), or fail it when running in CI."""
    where = make_url(admin_url()).render_as_string(hide_password=True)
    message = (
        f"PostgreSQL is not reachable at {where} ({reason}); "
        f"start it or point {ADMIN_URL_ENV} at one"
    )
    if in_ci():
        pytest.fail(f"{message}. CI=true, so the PostgreSQL tests must run.", pytrace=False)
    pytest.skip(message)


async def create_temp_database() -> str:
    """Create an empty database ``sealchat_test_<random>``; return its SQLAlchemy URL."""
    admin = make_url(admin_url())
    name = f"{DATABASE_PREFIX}{secrets.token_hex(6)}"
    conn = await _connect(admin)
    try:
        # Identifiers cannot be bind parameters; the name is ours, not user input.
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin.set(database=name).render_as_string(hide_password=False)


async def drop_database(url: str) -> None:
    """Drop the database ``url`` names, disconnecting whoever is still connected."""
    target = make_url(url)
    name = target.database or ""
    if not name.startswith(DATABASE_PREFIX):
        raise ValueError(f"refusing to drop {name!r}: not a test database")
    conn = await _connect(target.set(database=make_url(admin_url()).database))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@asynccontextmanager
async def temp_database() -> AsyncIterator[str]:
    """A fresh, empty database for the duration of the block."""
    url = await create_temp_database()
    try:
        yield url
    finally:
        await drop_database(url)


async def _connect(url: URL) -> asyncpg.Connection:
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        return await asyncpg.connect(dsn, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        postgres_unavailable(f"{type(exc).__name__}: {exc}")
