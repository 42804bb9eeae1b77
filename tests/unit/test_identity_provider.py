"""The embedded identity provider on a real SQLite file (and PostgreSQL when it runs)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from sealchat.adapters.jwt_verifier import JwksTokenVerifier, StaticJwks
from sealchat.adapters.sql import tables
from sealchat.domain.errors import Conflict, InvalidInput, Unauthorized
from sealchat.identity.keys import SigningKey
from sealchat.identity.passwords import PasswordHasher
from sealchat.identity.provider import (
    BAD_CREDENTIALS,
    EmbeddedIdentityProvider,
    OnAccountCreated,
    TokenPair,
)
from sealchat.identity.store import IdentityStore
from sealchat.identity.throttle import LoginThrottle
from tests.pg_support import temp_database

ISSUER = "http://127.0.0.1:8000"
AUDIENCE = "sealchat"
PASSWORD = "correct horse battery staple"


class FakeClock:
    """Starts at the real time so tokens it stamps still verify."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def cheap_hasher(time_cost: int = 1) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_kib=8, parallelism=1)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with AsyncExitStack() as stack:
        if request.param == "sqlite":
            url = f"sqlite+aiosqlite:///{tmp_path / 'idp.db'}"
        else:
            url = await stack.enter_async_context(temp_database())
        engine = create_async_engine(url)
        stack.push_async_callback(engine.dispose)
        async with engine.begin() as conn:
            await conn.run_sync(tables.metadata.create_all)
        yield engine


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_provider(
    engine: AsyncEngine,
    clock: FakeClock,
    *,
    hasher: PasswordHasher | None = None,
    key: SigningKey | None = None,
    on_account_created: OnAccountCreated | None = None,
    reuse_grace: float = 0,
) -> EmbeddedIdentityProvider:
    return EmbeddedIdentityProvider(
        store=IdentityStore(engine),
        signing_key=key or SigningKey.generate(),
        hasher=hasher or cheap_hasher(),
        throttle=LoginThrottle(max_failures=3, lockout=timedelta(seconds=60)),
        issuer=ISSUER,
        audience=AUDIENCE,
        access_token_ttl=timedelta(minutes=15),
        refresh_token_ttl=timedelta(days=30),
        clock=clock,
        on_account_created=on_account_created,
        refresh_reuse_grace=timedelta(seconds=reuse_grace),
    )


@pytest.fixture
def provider(engine: AsyncEngine, clock: FakeClock) -> EmbeddedIdentityProvider:
    return make_provider(engine, clock)


async def account_row(engine: AsyncEngine, username: str) -> Any:
    async with engine.connect() as conn:
        query = select(tables.idp_accounts).where(tables.idp_accounts.c.username == username)
        return (await conn.execute(query)).one()


async def test_register_issues_tokens_the_verifier_accepts(
    provider: EmbeddedIdentityProvider,
) -> None:
    pair = await provider.register("  Alice ", PASSWORD)
    assert pair.username == "alice"
    assert pair.expires_in == 900
    verifier = JwksTokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks=StaticJwks(provider.jwks))
    identity = await verifier.verify(pair.access_token)
    assert (identity.user_id, identity.username) == (pair.user_id, "alice")

    header = jwt.get_unverified_header(pair.access_token)
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": provider.jwks()["keys"][0]["kid"]}
    claims = jwt.decode(pair.access_token, options={"verify_signature": False})
    assert claims["token_use"] == "access"
    assert claims["exp"] - claims["iat"] == 900
    assert {"iss", "sub", "aud", "jti", "username"} <= claims.keys()


async def test_passwords_are_argon2id_and_refresh_tokens_only_hashed(
    provider: EmbeddedIdentityProvider, engine: AsyncEngine
) -> None:
    pair = await provider.register("alice", PASSWORD)
    assert (await account_row(engine, "alice")).password_hash.startswith("$argon2id$")
    async with engine.connect() as conn:
        stored = (await conn.execute(select(tables.idp_refresh_tokens.c.token_hash))).scalars()
        assert list(stored) == [hashlib.sha256(pair.refresh_token.encode()).hexdigest()]


async def test_duplicate_username_is_a_conflict_whatever_the_case(
    provider: EmbeddedIdentityProvider,
) -> None:
    await provider.register("alice", PASSWORD)
    with pytest.raises(Conflict, match="username is taken"):
        await provider.register("ALICE", PASSWORD)


@pytest.mark.parametrize(("username", "password"), [("alice", "short"), ("a", PASSWORD)])
async def test_bad_username_or_password_shape_is_invalid_input(
    provider: EmbeddedIdentityProvider, username: str, password: str
) -> None:
    with pytest.raises(InvalidInput):
        await provider.register(username, password)


async def test_login_then_wrong_user_and_wrong_password_fail_alike(
    provider: EmbeddedIdentityProvider,
) -> None:
    registered = await provider.register("alice", PASSWORD)
    assert (await provider.login("Alice", PASSWORD)).user_id == registered.user_id
    messages = set()
    for username, password in [("alice", "wrong password"), ("bob", PASSWORD), ("?", PASSWORD)]:
        with pytest.raises(Unauthorized) as caught:
            await provider.login(username, password)
        messages.add(caught.value.message)
    assert messages == {BAD_CREDENTIALS}


async def test_unknown_username_still_spends_an_argon2_verify(
    engine: AsyncEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = cheap_hasher()
    provider = make_provider(engine, clock, hasher=hasher)
    verified: list[str] = []
    real_verify = hasher.verify

    async def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return await real_verify(password_hash, password)

    monkeypatch.setattr(hasher, "verify", spy)
    with pytest.raises(Unauthorized):
        await provider.login("nobody", PASSWORD)
    assert len(verified) == 1 and verified[0].startswith("$argon2id$")


async def test_lockout_after_failures_then_success_once_it_passes(
    engine: AsyncEngine, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    hasher = cheap_hasher()
    provider = make_provider(engine, clock, hasher=hasher)
    await provider.register("alice", PASSWORD)
    for _ in range(3):
        with pytest.raises(Unauthorized):
            await provider.login("alice", "wrong password")

    # During the lockout the right password is refused too, without being checked:
    # only the dummy hash is verified (the time an unknown username costs).
    real_verify = hasher.verify
    verified: list[str] = []

    async def spy(password_hash: str, password: str) -> bool:
        verified.append(password_hash)
        return await real_verify(password_hash, password)

    monkeypatch.setattr(hasher, "verify", spy)
    alice_hash = (await account_row(engine, "alice")).password_hash
    for _ in range(2):
        with pytest.raises(Unauthorized) as caught:
            await provider.login("alice", PASSWORD)
        assert caught.value.message == BAD_CREDENTIALS
        clock.advance(29)
    assert verified and alice_hash not in verified

    clock.advance(3)
    await provider.login("alice", PASSWORD)
    row = await account_row(engine, "alice")
    assert (row.failed_logins, row.locked_until) == (0, None)


async def test_a_locked_account_answers_like_an_unknown_username(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """Issue #16 item 10: a 429 for a locked account told which usernames exist."""
    provider = make_provider(engine, clock, hasher=cheap_hasher())
    await provider.register("alice", PASSWORD)
    answers: dict[str, set[tuple[type[Exception], str]]] = {"alice": set(), "nobody": set()}
    for username in answers:
        for _ in range(8):
            with pytest.raises(Exception) as caught:
                await provider.login(username, "wrong password")
            answers[username].add((type(caught.value), str(caught.value)))
    assert answers["alice"] == answers["nobody"] == {(Unauthorized, BAD_CREDENTIALS)}
    locked = await account_row(engine, "alice")
    assert locked.locked_until is not None


async def test_each_failure_past_the_limit_doubles_the_lockout(
    engine: AsyncEngine, provider: EmbeddedIdentityProvider, clock: FakeClock
) -> None:
    await provider.register("alice", PASSWORD)
    for lockout in (60, 120, 240):
        while True:
            row = await account_row(engine, "alice")
            if row.locked_until is not None and row.locked_until > clock():
                assert (row.locked_until - clock()).total_seconds() == lockout
                break
            with pytest.raises(Unauthorized):
                await provider.login("alice", "wrong password")
        clock.advance(lockout)


async def test_login_rehashes_when_the_cost_changed(engine: AsyncEngine, clock: FakeClock) -> None:
    await make_provider(engine, clock, hasher=cheap_hasher(time_cost=1)).register("alice", PASSWORD)
    before = (await account_row(engine, "alice")).password_hash
    await make_provider(engine, clock, hasher=cheap_hasher(time_cost=2)).login("alice", PASSWORD)
    after = (await account_row(engine, "alice")).password_hash
    assert "t=1" in before and "t=2" in after


async def test_refresh_rotates_the_token(provider: EmbeddedIdentityProvider) -> None:
    first = await provider.register("alice", PASSWORD)
    second = await provider.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert (second.user_id, second.username) == (first.user_id, "alice")
    third = await provider.refresh(second.refresh_token)
    assert third.user_id == first.user_id


async def test_reusing_a_spent_refresh_token_revokes_the_family(
    provider: EmbeddedIdentityProvider,
) -> None:
    first = await provider.register("alice", PASSWORD)
    newest = await provider.refresh(first.refresh_token)
    other_session = await provider.login("alice", PASSWORD)
    with pytest.raises(Unauthorized):
        await provider.refresh(first.refresh_token)
    with pytest.raises(Unauthorized):
        await provider.refresh(newest.refresh_token)
    # Only the family of the replayed token is revoked, not every session of the account.
    await provider.refresh(other_session.refresh_token)


async def test_concurrent_refreshes_of_one_token_exactly_one_wins(
    provider: EmbeddedIdentityProvider,
) -> None:
    pair = await provider.register("alice", PASSWORD)
    results = await asyncio.gather(
        *(provider.refresh(pair.refresh_token) for _ in range(2)), return_exceptions=True
    )
    assert sorted(type(r).__name__ for r in results) == ["TokenPair", "Unauthorized"]


GRACE = 30.0


async def test_within_the_grace_the_token_just_spent_continues_the_session(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """A page reloaded while its refresh was on the way presents the old cookie again."""
    provider = make_provider(engine, clock, reuse_grace=GRACE)
    first = await provider.register("alice", PASSWORD)
    lost = await provider.refresh(first.refresh_token)  # the answer the page never saw
    clock.advance(GRACE - 1)
    again = await provider.refresh(first.refresh_token)
    assert again.user_id == first.user_id
    assert again.refresh_token != lost.refresh_token
    # The family goes on with the new token, and one token is live: the lost one is spent.
    clock.advance(1)
    newest = await provider.refresh(again.refresh_token)
    assert await live_tokens(engine) == [digest(newest.refresh_token)]
    # A second reload within the grace continues too (from the newest, not the lost one).
    clock.advance(0.5)
    assert (await provider.refresh(again.refresh_token)).user_id == first.user_id


async def test_reuse_after_the_grace_still_revokes_the_family(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    provider = make_provider(engine, clock, reuse_grace=GRACE)
    first = await provider.register("alice", PASSWORD)
    second = await provider.refresh(first.refresh_token)
    clock.advance(GRACE + 1)
    with pytest.raises(Unauthorized):
        await provider.refresh(first.refresh_token)
    with pytest.raises(Unauthorized):
        await provider.refresh(second.refresh_token)
    assert await live_tokens(engine) == []


async def test_within_the_grace_only_the_immediately_previous_token_is_accepted(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    """Once its successor was used, an older token is a replay: the family is revoked."""
    provider = make_provider(engine, clock, reuse_grace=GRACE)
    first = await provider.register("alice", PASSWORD)
    second = await provider.refresh(first.refresh_token)
    clock.advance(1)
    third = await provider.refresh(second.refresh_token)
    clock.advance(1)
    with pytest.raises(Unauthorized):
        await provider.refresh(first.refresh_token)
    with pytest.raises(Unauthorized):
        await provider.refresh(third.refresh_token)


async def test_a_revoked_session_gets_no_grace(engine: AsyncEngine, clock: FakeClock) -> None:
    provider = make_provider(engine, clock, reuse_grace=GRACE)
    first = await provider.register("alice", PASSWORD)
    await provider.refresh(first.refresh_token)
    await provider.logout(first.refresh_token)
    with pytest.raises(Unauthorized):
        await provider.refresh(first.refresh_token)


async def test_concurrent_refreshes_within_the_grace_leave_one_live_token(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    provider = make_provider(engine, clock, reuse_grace=GRACE)
    pair = await provider.register("alice", PASSWORD)
    results = await asyncio.gather(*(provider.refresh(pair.refresh_token) for _ in range(2)))
    assert all(result.user_id == pair.user_id for result in results)
    live = await live_tokens(engine)
    assert len(live) == 1 and live[0] in {digest(r.refresh_token) for r in results}


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def live_tokens(engine: AsyncEngine) -> list[str]:
    table = tables.idp_refresh_tokens
    query = select(table.c.token_hash).where(
        table.c.used_at.is_(None), table.c.revoked_at.is_(None)
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query)).scalars())


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 300])
async def test_unknown_refresh_token_is_unauthorized(
    provider: EmbeddedIdentityProvider, token: str
) -> None:
    with pytest.raises(Unauthorized):
        await provider.refresh(token)


async def test_expired_refresh_token_is_unauthorized(
    provider: EmbeddedIdentityProvider, clock: FakeClock
) -> None:
    pair = await provider.register("alice", PASSWORD)
    clock.advance(timedelta(days=30, seconds=1).total_seconds())
    with pytest.raises(Unauthorized):
        await provider.refresh(pair.refresh_token)


async def test_logout_revokes_the_session_and_is_idempotent(
    provider: EmbeddedIdentityProvider,
) -> None:
    first = await provider.register("alice", PASSWORD)
    rotated = await provider.refresh(first.refresh_token)
    other_session = await provider.login("alice", PASSWORD)
    await provider.logout(first.refresh_token)  # a spent token still names its session
    with pytest.raises(Unauthorized):
        await provider.refresh(rotated.refresh_token)
    await provider.logout(rotated.refresh_token)
    await provider.logout("never issued")
    assert isinstance(await provider.refresh(other_session.refresh_token), TokenPair)


async def test_hook_runs_after_the_account_is_committed(
    engine: AsyncEngine, clock: FakeClock
) -> None:
    seen: list[tuple[str, str, str]] = []

    async def on_account_created(account_id: str, username: str) -> None:
        # A separate connection sees the row only if the transaction has committed.
        row = await account_row(engine, username)
        seen.append((account_id, username, row.id))

    provider = make_provider(engine, clock, on_account_created=on_account_created)
    pair = await provider.register("alice", PASSWORD)
    account = await provider.create_account("bob", PASSWORD)
    assert seen == [
        (pair.user_id, "alice", pair.user_id),
        (account.id, "bob", account.id),
    ]


async def test_create_account_signs_nobody_in(
    provider: EmbeddedIdentityProvider, engine: AsyncEngine
) -> None:
    account = await provider.create_account("Bob", PASSWORD)
    assert account.username == "bob"
    async with engine.connect() as conn:
        assert (await conn.execute(select(tables.idp_refresh_tokens))).all() == []
    assert (await provider.login("bob", PASSWORD)).user_id == account.id


def test_discovery_documents(provider: EmbeddedIdentityProvider) -> None:
    config = provider.openid_configuration()
    assert config["issuer"] == ISSUER
    assert config["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
    assert config["id_token_signing_alg_values_supported"] == ["EdDSA"]
    [key] = provider.jwks()["keys"]
    assert {key["kty"], key["crv"], key["use"], key["alg"]} == {"OKP", "Ed25519", "sig", "EdDSA"}
    assert "d" not in key
