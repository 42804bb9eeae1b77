"""Rotating a signing key set (``sealchat keys``): stage a next key, promote it, retire
old ones. Only the operator's command writes; nodes pick the changes up by themselves
(``key_set.SigningKeySet``).

A rotation has two steps so that a key is published before anything is signed with it:
``rotate`` stages ``next-key.pem`` (every node publishes it in its JWKS within seconds,
and JWKS caches elsewhere refetch it), and a second ``rotate``, once the next key is at
least ``min_age`` old, promotes it: the active key's public half moves to
``retired/<kid>.json`` (verify-only, until every token it signed has expired), its private
half is deleted, and the next key becomes the active one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sealchat.adapters.secret_files import create_secret_file
from sealchat.identity.key_set import ACTIVE, NEXT, RETIRED, read_retired, write_file_atomically
from sealchat.identity.keys import SigningKey


class RotationRefused(RuntimeError):
    """The step cannot be taken now; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class KeyState:
    kid: str
    state: str  # "active", "next" or "retired"
    since: float  # when it got this state (file time for active/next, retired_at)
    verify_until: float | None = None  # retired keys: published until then


def list_keys(directory: Path) -> list[KeyState]:
    """Every key in the set, active first."""
    found = []
    for name, state in ((ACTIVE, "active"), (NEXT, "next")):
        path = directory / name
        if path.exists():
            found.append(KeyState(SigningKey.load_existing(path).kid, state, path.stat().st_mtime))
    for path in sorted((directory / RETIRED).glob("*.json")):
        entry = read_retired(path)
        if entry is not None:
            found.append(
                KeyState(entry["jwk"]["kid"], "retired", entry["retired_at"], entry["verify_until"])
            )
    return found


def _new_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def stage_next(directory: Path) -> str:
    """Create the next key (published, not signing yet) and return its kid."""
    if not (directory / ACTIVE).exists():
        raise RotationRefused(f"{directory} holds no active key ({ACTIVE}); start a node first")
    path = directory / NEXT
    if not create_secret_file(path, _new_key_pem()):
        raise RotationRefused(f"a next key is already staged in {path}")
    return SigningKey.load_existing(path).kid


def promote_next(
    directory: Path,
    *,
    verify_seconds: float,
    min_age: float,
    force: bool = False,
    now: float | None = None,
) -> tuple[str, str]:
    """Make the staged next key the active one; returns (old kid, new kid).

    The old key stays published for ``verify_seconds`` (the longest lifetime of what it
    signed) and then drops out of the JWKS; ``retire`` deletes its file.
    """
    now = time.time() if now is None else now
    next_path, active_path = directory / NEXT, directory / ACTIVE
    if not next_path.exists():
        raise RotationRefused(f"no next key is staged in {directory}")
    age = now - next_path.stat().st_mtime
    if age < min_age and not force:
        raise RotationRefused(
            f"the next key was published {age:.0f} s ago; wait until it is {min_age:.0f} s old "
            "(every node and JWKS cache must know it before it signs), or pass --force"
        )
    old, new = SigningKey.load_existing(active_path), SigningKey.load_existing(next_path)
    retired_dir = directory / RETIRED
    retired_dir.mkdir(mode=0o700, exist_ok=True)
    entry = {"jwk": old.jwk(), "retired_at": now, "verify_until": now + verify_seconds}
    # Publish the old key as retired first, then swap: a node reading in between sees
    # both, never neither.
    write_file_atomically(
        retired_dir / f"{old.kid}.json", json.dumps(entry, indent=1).encode(), 0o644
    )
    next_path.replace(active_path)
    return old.kid, new.kid


def retire(directory: Path, kid: str | None = None, *, now: float | None = None) -> list[str]:
    """Delete retired keys: those past ``verify_until``, or the one named ``kid`` at once
    (tokens and grants it signed are refused from then on). Returns the kids deleted."""
    now = time.time() if now is None else now
    states = list_keys(directory)
    if kid is not None and not any(s.kid == kid and s.state == "retired" for s in states):
        current = next((s.state for s in states if s.kid == kid), None)
        if current is not None:
            raise RotationRefused(f"key {kid} is the {current} key; rotate first")
        raise RotationRefused(f"no retired key {kid} in {directory}")
    removed = []
    for state in states:
        if state.state != "retired":
            continue
        expired = state.verify_until is not None and state.verify_until <= now
        if state.kid == kid or (kid is None and expired):
            (directory / RETIRED / f"{state.kid}.json").unlink(missing_ok=True)
            removed.append(state.kid)
    return removed
