"""The identity provider's Ed25519 signing key, kept in a PEM file and never in a database.

The trust boundaries say the chat database must never hold the issuer's signing key, so
the key lives in its own file under the data dir, readable only by the server's user.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sealchat.adapters.secret_files import create_secret_file

log = logging.getLogger(__name__)


class TokenSigner(Protocol):
    """What signs tokens: one ``SigningKey``, or a ``SigningKeySet`` that can rotate."""

    def sign(self, claims: dict[str, Any]) -> str: ...

    def jwks(self) -> dict[str, Any]: ...


class SigningKeyError(RuntimeError):
    """The key file exists but cannot be used; the server must not start with it."""


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SigningKey:
    """An Ed25519 private key and its public JWK, identified by its RFC 7638 thumbprint."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self.private_key = private_key
        public_raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self._x = _b64url(public_raw)
        # RFC 7638: the required members only, sorted, no whitespace.
        canonical = json.dumps(
            {"crv": "Ed25519", "kty": "OKP", "x": self._x}, separators=(",", ":"), sort_keys=True
        )
        self.kid = _b64url(hashlib.sha256(canonical.encode("ascii")).digest())

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKey:
        """Load the key at ``path``, creating it (mode 0600, directory 0700) on first start.

        Raises ``SigningKeyError`` when the file exists but is unreadable or not an
        Ed25519 private key: silently replacing it would invalidate every issued token
        and hide a real problem.
        """
        if not path.exists():
            try:
                cls._create(path)
            except OSError as exc:
                raise SigningKeyError(
                    f"cannot create the identity signing key {path}: {exc.strerror or exc}"
                ) from exc
        return cls._load(path)

    @classmethod
    def load_existing(cls, path: Path) -> SigningKey:
        """Load the key at ``path``, which must exist (never creates one)."""
        return cls._load(path)

    @classmethod
    def _create(cls, path: Path) -> None:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        if create_secret_file(path, pem):
            log.info("created the signing key %s", path)

    @classmethod
    def _load(cls, path: Path) -> SigningKey:
        try:
            data = path.read_bytes()
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError as exc:
            raise SigningKeyError(
                f"cannot read the identity signing key {path}: {exc.strerror or exc}"
            ) from exc
        if os.name == "posix" and mode & 0o077:
            # Anyone who can read it can sign tokens (or grants) for any user.
            raise SigningKeyError(
                f"the signing key {path} is accessible to other users (mode {mode:04o}); "
                f"make it private with: chmod 600 {path}"
            )
        try:
            key = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise SigningKeyError(
                f"the identity signing key {path} is not a readable PEM private key; "
                "restore it from a backup, or delete it to create a new one "
                "(which signs out every user)"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError(f"the identity signing key {path} is not an Ed25519 key")
        return cls(key)

    def sign(self, claims: dict[str, Any]) -> str:
        """A compact JWT of ``claims``, signed with EdDSA, naming this key in ``kid``."""
        return jwt.encode(
            claims, self.private_key, algorithm="EdDSA", headers={"kid": self.kid, "typ": "JWT"}
        )

    def jwk(self) -> dict[str, str]:
        """The public key as a JWK, as published in ``/.well-known/jwks.json``."""
        return {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": self._x,
            "kid": self.kid,
            "use": "sig",
            "alg": "EdDSA",
        }

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}
