"""The sealed envelope v1's shape: constants and a check, no cryptography.

Shared by the chat server (which cannot open an envelope but refuses anything that is
not one: a plaintext-looking object, an unknown version, bad base64, sizes outside the
format's limits) and the client (which checks before it opens). It imports nothing of
sealchat, so the client package stays free of the server. The format is specified in
docs/envelope.md; the server translates ``EnvelopeShapeError`` into its domain error
(sealchat.domain.envelope).
"""

from __future__ import annotations

import binascii
import re
from typing import Final

VERSION: Final = 1
ALGORITHM: Final = "A256GCM"
MEMBERS: Final = ("v", "alg", "kid", "edk", "iv", "ct")
IV_BYTES: Final = 12
TAG_BYTES: Final = 16
MAX_KID_CHARS: Final = 256
MAX_EDK_BYTES: Final = 1024
MAX_PLAINTEXT_BYTES: Final = 65536
MAX_CT_BYTES: Final = MAX_PLAINTEXT_BYTES + TAG_BYTES

_KID_RE = re.compile(rf"[\x20-\x7e]{{1,{MAX_KID_CHARS}}}")
_NOT_V1 = "envelope must be a sealed envelope v1"


class EnvelopeShapeError(ValueError):
    """Not a well-formed sealed envelope v1; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedVersionError(EnvelopeShapeError):
    """``v`` is an integer other than 1: maybe a newer client, not garbage."""


def check_envelope_shape(envelope: object) -> None:
    """Raise ``EnvelopeShapeError`` unless ``envelope`` is a well-formed sealed envelope v1."""
    if not isinstance(envelope, dict):
        raise EnvelopeShapeError(f"{_NOT_V1} (a JSON object)")
    # The version comes first: a later version may have other members entirely.
    version = envelope.get("v")
    if isinstance(version, int) and not isinstance(version, bool) and version != VERSION:
        shown = f" {version}" if abs(version) < 1_000_000 else ""  # huge ints: no echo
        raise UnsupportedVersionError(
            f"unsupported envelope version{shown}; this server accepts version {VERSION}"
        )
    for name in envelope:
        if name not in MEMBERS:
            raise EnvelopeShapeError(f"{_NOT_V1}: unexpected member {_show(name)}")
    for name in MEMBERS:
        if name not in envelope:
            raise EnvelopeShapeError(f"{_NOT_V1}: missing {name!r}")
    if not isinstance(version, int) or isinstance(version, bool):
        raise EnvelopeShapeError(f"v must be the integer {VERSION}")
    if envelope["alg"] != ALGORITHM:
        raise EnvelopeShapeError(f"alg must be {ALGORITHM!r}")
    kid = envelope["kid"]
    if not isinstance(kid, str) or not _KID_RE.fullmatch(kid):
        raise EnvelopeShapeError(f"kid must be 1 to {MAX_KID_CHARS} printable ASCII characters")
    _check_base64(envelope, "edk", 1, MAX_EDK_BYTES)
    _check_base64(envelope, "iv", IV_BYTES, IV_BYTES)
    _check_base64(envelope, "ct", TAG_BYTES, MAX_CT_BYTES)


def decode_base64(value: str) -> bytes | None:
    """The bytes of canonical standard base64 with padding (RFC 4648 §4), else None.

    Refuses whitespace, the URL-safe alphabet, missing or extra padding and nonzero
    unused bits, so each byte string has exactly one accepted spelling.
    """
    try:
        raw = binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):  # ValueError: not ASCII
        return None
    # strict_mode still accepts "QUJD====" and "QR==": re-encoding catches both.
    if binascii.b2a_base64(raw, newline=False) != value.encode("ascii"):
        return None
    return raw


def _check_base64(envelope: dict[object, object], name: str, least: int, most: int) -> None:
    value = envelope[name]
    if not isinstance(value, str):
        raise EnvelopeShapeError(f"{name} must be a base64 string")
    if len(value) > 8 * -(-most // 3):  # twice the longest spelling: not worth decoding
        raise EnvelopeShapeError(
            f"{name} must be {_sizes(least, most)}; {len(value)} characters is too long"
        )
    raw = decode_base64(value)
    if raw is None:
        raise EnvelopeShapeError(f"{name} must be standard base64 with padding (RFC 4648 §4)")
    if not least <= len(raw) <= most:
        raise EnvelopeShapeError(f"{name} must be {_sizes(least, most)}, not {len(raw)}")


def _sizes(least: int, most: int) -> str:
    return f"{least} bytes" if least == most else f"{least} to {most} bytes"


def _show(name: object) -> str:
    """A member name for an error message, cut short: it came from the client."""
    text = repr(name)
    return text if len(text) <= 42 else text[:40] + "…"
