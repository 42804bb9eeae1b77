"""A signing key set in a directory shared by every node: one active key, an optional next
key, and former keys kept for verification only. Used for the identity provider's key and
the chat server's grant key (docs/deployment.md, "Signing keys in a cluster").

Layout of the directory (``{secrets_dir}/identity`` or ``{secrets_dir}/grants``)::

    signing-key.pem        the active key: signs, and is published
    next-key.pem           staged by ``sealchat keys rotate``: published, does not sign yet
    retired/<kid>.json     public halves of former keys, published until ``verify_until``

Every node re-reads the directory when a file in it changed (checked at most every
``reload_seconds``), so a rotation reaches all nodes without a restart. Nodes only read:
the directory may be mounted read-only, and a key is created only when none exists.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sealchat.identity.keys import SigningKey, SigningKeyError

log = logging.getLogger(__name__)

ACTIVE = "signing-key.pem"
NEXT = "next-key.pem"
RETIRED = "retired"

Fingerprint = tuple[tuple[str, int, int, int], ...]


def _fingerprint(directory: Path) -> Fingerprint:
    """Name, inode, size and mtime of every file that makes up the key set."""
    paths = [directory / ACTIVE, directory / NEXT]
    retired = directory / RETIRED
    if retired.is_dir():
        paths.extend(sorted(retired.glob("*.json")))
    found = []
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        found.append((path.name, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(found)


class SigningKeySet:
    """The keys in one directory, re-read when the directory changes."""

    def __init__(
        self,
        directory: Path,
        *,
        reload_seconds: float = 5.0,
        create: bool = True,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self._reload_seconds = reload_seconds
        self._clock = clock
        self._monotonic = monotonic
        if create:
            # Creates the first key only when there is none (never in a read-only mount
            # that already holds one: load_or_create checks before writing).
            SigningKey.load_or_create(directory / ACTIVE)
        self._fingerprint: Fingerprint = ()
        self._checked_at = float("-inf")
        self._active: SigningKey | None = None
        self._next: SigningKey | None = None
        self._retired: list[dict[str, Any]] = []
        self._load()

    def _load(self) -> None:
        fingerprint = _fingerprint(self.directory)
        active = SigningKey.load_existing(self.directory / ACTIVE)
        next_path = self.directory / NEXT
        # A next key that vanished between the listing and here was just promoted.
        next_key = SigningKey.load_existing(next_path) if next_path.exists() else None
        retired = []
        for path in sorted((self.directory / RETIRED).glob("*.json")):
            entry = read_retired(path)
            if entry is not None:
                retired.append(entry)
        changed = self._active is not None and (
            active.kid != self._active.kid
            or (next_key and next_key.kid) != (self._next and self._next.kid)
        )
        self._active, self._next, self._retired = active, next_key, retired
        self._fingerprint = fingerprint
        if changed:
            log.info("signing keys in %s changed: active %s", self.directory, active.kid)

    def _refresh(self) -> None:
        now = self._monotonic()
        if now - self._checked_at < self._reload_seconds:
            return
        self._checked_at = now
        if _fingerprint(self.directory) == self._fingerprint:
            return
        try:
            self._load()
        except (SigningKeyError, OSError) as exc:
            # Keep signing with what we had: a half-finished change must not stop the node.
            log.error("cannot re-read the signing keys in %s: %s", self.directory, exc)

    @property
    def active(self) -> SigningKey:
        self._refresh()
        assert self._active is not None
        return self._active

    def sign(self, claims: dict[str, Any]) -> str:
        return self.active.sign(claims)

    def jwks(self) -> dict[str, Any]:
        """Active, next, and retired keys still within their ``verify_until``."""
        active = self.active
        keys = [active.jwk()]
        if self._next is not None and self._next.kid != active.kid:
            keys.append(self._next.jwk())
        now = self._clock()
        seen = {key["kid"] for key in keys}
        for entry in self._retired:
            jwk = entry["jwk"]
            if entry["verify_until"] > now and jwk["kid"] not in seen:
                keys.append(jwk)
                seen.add(jwk["kid"])
        return {"keys": keys}


def read_retired(path: Path) -> dict[str, Any] | None:
    """A retired key's entry, or None (logged) when the file is not one."""
    try:
        entry = json.loads(path.read_text("utf-8"))
        jwk = entry["jwk"]
        if not (isinstance(jwk, dict) and jwk.get("kty") == "OKP" and isinstance(jwk["kid"], str)):
            raise ValueError("not an Ed25519 public JWK")
        entry["verify_until"] = float(entry["verify_until"])
        entry["retired_at"] = float(entry["retired_at"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.error("ignoring the retired key file %s: %s", path, exc)
        return None
    return dict(entry)


def write_file_atomically(path: Path, content: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``content`` in one step (a reader sees the old or the new)."""
    partial = path.parent / f".{path.name}.{os.getpid()}.tmp"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
