"""Envelopes with the v1 shape (docs/envelope.md) but made-up bytes, for tests of the
transport: the server checks shape only, so it cannot tell these from sealed ones."""

from __future__ import annotations

import base64
from typing import Any

TAG = b"\x00" * 16


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def opaque_envelope(label: str) -> dict[str, Any]:
    """A shape-valid envelope whose ciphertext spells ``label`` (so tests can tell them apart)."""
    return {
        "v": 1,
        "alg": "A256GCM",
        "kid": "test-key",
        "edk": b64(b"not-a-real-wrapped-key"),
        "iv": b64(b"\x01" * 12),
        "ct": b64(label.encode() + TAG),
    }


def label_of(envelope: dict[str, Any]) -> str:
    return base64.b64decode(envelope["ct"])[: -len(TAG)].decode()
