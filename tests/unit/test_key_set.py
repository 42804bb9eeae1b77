"""Signing key sets shared by nodes: rotation in two steps, verify-only retired keys,
re-reading the directory, and never writing to it when the keys are there."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sealchat.adapters.jwt_verifier import JwksTokenVerifier, StaticJwks
from sealchat.domain.errors import Unauthorized
from sealchat.identity import key_set
from sealchat.identity.key_rotation import (
    RotationRefused,
    list_keys,
    promote_next,
    retire,
    stage_next,
)
from sealchat.identity.key_set import SigningKeySet

ISSUER = "http://chat.test"


def claims(ttl: int = 900) -> dict[str, object]:
    now = int(time.time())
    return {
        "iss": ISSUER,
        "aud": "sealchat",
        "sub": "user-1",
        "username": "alice",
        "iat": now,
        "exp": now + ttl,
    }


def verifier_of(keys: SigningKeySet) -> JwksTokenVerifier:
    return JwksTokenVerifier(issuer=ISSUER, audience="sealchat", jwks=StaticJwks(keys.jwks))


def kids(keys: SigningKeySet) -> list[str]:
    return [key["kid"] for key in keys.jwks()["keys"]]


async def test_a_rotation_publishes_first_signs_later_and_keeps_the_old_key(tmp_path: Path) -> None:
    node = SigningKeySet(tmp_path, reload_seconds=0)
    old_kid = node.active.kid
    old_token = node.sign(claims())

    next_kid = stage_next(tmp_path)
    assert kids(node) == [old_kid, next_kid]  # published ...
    assert node.active.kid == old_kid  # ... but not signing yet

    with pytest.raises(RotationRefused, match="wait until"):
        promote_next(tmp_path, verify_seconds=960, min_age=300)
    promote_next(tmp_path, verify_seconds=960, min_age=300, force=True)
    assert node.active.kid == next_kid
    assert kids(node) == [next_kid, old_kid]
    assert [(k.kid, k.state) for k in list_keys(tmp_path)] == [
        (next_kid, "active"),
        (old_kid, "retired"),
    ]
    assert not list(tmp_path.glob("*.pem.*"))  # no private half of the old key is left

    verifier = verifier_of(node)
    assert (await verifier.verify(old_token)).user_id == "user-1"  # held before: still good
    assert (await verifier.verify(node.sign(claims()))).user_id == "user-1"

    assert retire(tmp_path) == []  # its tokens have not expired yet
    assert retire(tmp_path, old_kid) == [old_kid]
    with pytest.raises(Unauthorized, match="unknown key"):
        await verifier.verify(old_token)


def test_a_second_node_sharing_the_directory_picks_the_rotation_up(tmp_path: Path) -> None:
    first = SigningKeySet(tmp_path, reload_seconds=0)
    clock = [0.0]
    second = SigningKeySet(tmp_path, reload_seconds=5, create=False, monotonic=lambda: clock[0])
    assert second.active.kid == first.active.kid

    stage_next(tmp_path)
    new_kid = promote_next(tmp_path, verify_seconds=60, min_age=0)[1]
    clock[0] = 1.0
    assert second.active.kid != new_kid  # checked at most every reload_seconds
    clock[0] = 6.0
    assert second.active.kid == new_kid
    assert first.active.kid == new_kid


def test_a_retired_key_leaves_the_jwks_when_its_tokens_have_expired(tmp_path: Path) -> None:
    now = [1000.0]
    node = SigningKeySet(tmp_path, reload_seconds=0, clock=lambda: now[0])
    old_kid = node.active.kid
    stage_next(tmp_path)
    promote_next(tmp_path, verify_seconds=960, min_age=0, force=True, now=now[0])
    assert old_kid in kids(node)
    now[0] += 961
    assert old_kid not in kids(node)
    assert retire(tmp_path, now=now[0]) == [old_kid]


def test_the_active_and_the_next_key_cannot_be_retired(tmp_path: Path) -> None:
    node = SigningKeySet(tmp_path)
    next_kid = stage_next(tmp_path)
    with pytest.raises(RotationRefused, match="active"):
        retire(tmp_path, node.active.kid)
    with pytest.raises(RotationRefused, match="next"):
        retire(tmp_path, next_kid)
    with pytest.raises(RotationRefused, match="already staged"):
        stage_next(tmp_path)


def test_existing_keys_are_only_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    SigningKeySet(tmp_path)  # the operator created the keys once

    def refuse(*args: object, **kwargs: object) -> bool:
        raise AssertionError("a node tried to write into the secrets directory")

    monkeypatch.setattr("sealchat.identity.keys.create_secret_file", refuse)
    node = SigningKeySet(tmp_path)
    assert node.active.kid


def test_a_broken_change_keeps_the_node_signing(tmp_path: Path) -> None:
    node = SigningKeySet(tmp_path, reload_seconds=0)
    kid = node.active.kid
    (tmp_path / key_set.NEXT).write_bytes(b"not a key")
    (tmp_path / key_set.NEXT).chmod(0o600)
    assert node.active.kid == kid
