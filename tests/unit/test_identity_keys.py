"""The signing key file: created private, reused on restart, refused when corrupt."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from sealchat.identity.keys import SigningKey, SigningKeyError

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
def test_created_with_private_modes_and_reused_on_restart(tmp_path: Path) -> None:
    path = tmp_path / "data" / "identity" / "signing-key.pem"
    first = SigningKey.load_or_create(path)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    second = SigningKey.load_or_create(path)
    assert second.kid == first.kid
    assert second.jwk() == first.jwk()


@posix_only
@pytest.mark.parametrize("loose", [0o644, 0o640, 0o604, 0o660])
def test_a_key_readable_by_others_refuses_to_load(tmp_path: Path, loose: int) -> None:
    """Issue #16 item 14: a signing key open to other users only logged a warning."""
    path = tmp_path / "identity" / "signing-key.pem"
    kid = SigningKey.load_or_create(path).kid
    path.chmod(loose)
    with pytest.raises(SigningKeyError, match=r"accessible to other users.*chmod 600"):
        SigningKey.load_or_create(path)
    path.chmod(0o600)
    assert SigningKey.load_or_create(path).kid == kid


def test_kid_is_the_rfc_7638_thumbprint() -> None:
    # RFC 8037 appendix A.1 (key) and A.3 (its thumbprint).
    private = b64url_decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(private))
    assert key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    assert key.jwk() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        "use": "sig",
        "alg": "EdDSA",
    }


def test_corrupt_key_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    path.write_bytes(b"-----BEGIN PRIVATE KEY-----\ngarbage\n-----END PRIVATE KEY-----\n")
    path.chmod(0o600)
    with pytest.raises(SigningKeyError, match="not a readable PEM private key"):
        SigningKey.load_or_create(path)
    assert b"garbage" in path.read_bytes()  # never silently replaced


def test_a_key_of_another_type_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        SigningKey.load_or_create(path)


def test_unreadable_key_path_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "signing-key.pem"
    path.mkdir()  # exists, but cannot be read as a file
    with pytest.raises(SigningKeyError, match="cannot read"):
        SigningKey.load_or_create(path)


def test_uncreatable_key_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data directory should be")
    with pytest.raises(SigningKeyError, match="cannot create"):
        SigningKey.load_or_create(blocker / "identity" / "signing-key.pem")
