from __future__ import annotations

from uuid import uuid4

import pytest

from sealchat.adapters.sql.storage import SqlUserStore
from sealchat.domain.errors import Conflict
from sealchat.domain.models import User


async def test_upsert_inserts_a_new_user(users: SqlUserStore) -> None:
    user = User(id=str(uuid4()), username="alice")

    await users.upsert_user(user)

    assert await users.get_user(user.id) == user
    assert await users.get_user_by_username("alice") == user


async def test_upsert_renames_an_existing_user(users: SqlUserStore) -> None:
    user_id = str(uuid4())
    await users.upsert_user(User(id=user_id, username="alice"))

    await users.upsert_user(User(id=user_id, username="alicia"))

    assert await users.get_user(user_id) == User(id=user_id, username="alicia")
    assert await users.get_user_by_username("alice") is None
    assert await users.get_user_by_username("alicia") == User(id=user_id, username="alicia")


async def test_upsert_is_idempotent(users: SqlUserStore) -> None:
    user = User(id=str(uuid4()), username="bob")

    await users.upsert_user(user)
    await users.upsert_user(user)

    assert await users.get_user(user.id) == user


async def test_a_username_belongs_to_one_user(users: SqlUserStore) -> None:
    await users.upsert_user(User(id=str(uuid4()), username="carol"))
    other = User(id=str(uuid4()), username="carol")

    with pytest.raises(Conflict):
        await users.upsert_user(other)

    assert await users.get_user(other.id) is None


async def test_unknown_users_are_none(users: SqlUserStore) -> None:
    assert await users.get_user(str(uuid4())) is None
    assert await users.get_user_by_username("nobody") is None
