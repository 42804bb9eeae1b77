"""Sealed envelope v1: seal a message's content with a data key, and open it again.

AES-256-GCM under a data key from the key service; the associated data binds the
ciphertext to its room, sender and client message id. The format, and why it is so,
is in docs/envelope.md; spec/envelope-v1-vectors.json holds its test vectors.
"""

from __future__ import annotations

import base64
import json
import os
import struct
from dataclasses import dataclass
from typing import Any, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealchat.client.content import ContentError, load_json, parse_content
from sealchat.envelope_spec import (
    ALGORITHM,
    IV_BYTES,
    MAX_EDK_BYTES,
    MAX_PLAINTEXT_BYTES,
    VERSION,
    EnvelopeShapeError,
    UnsupportedVersionError,
    check_envelope_shape,
    decode_base64,
)

KEY_BYTES: Final = 32
AAD_LABEL: Final = b"sealchat-envelope-v1"

REASONS: Final = frozenset(
    {"malformed", "unsupported_version", "authentication_failed", "bad_content"}
)


class EnvelopeError(Exception):
    """An envelope that cannot be opened. ``reason`` is one of ``REASONS``:

    - ``malformed``: not a well-formed envelope v1;
    - ``unsupported_version``: ``v`` is an integer other than 1 (a newer sender, perhaps);
    - ``authentication_failed``: the GCM tag does not verify: the ciphertext, tag or iv
      was changed, the room, sender or client message id is not the one it was sealed
      for, or the data key is wrong;
    - ``bad_content``: authentic, but the plaintext is not UTF-8 JSON content.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class ParsedEnvelope:
    key_id: str
    encrypted_data_key: bytes
    iv: bytes
    ciphertext: bytes  # the AES-GCM ciphertext followed by its 16-byte tag


def text_content(text: str) -> dict[str, Any]:
    """The content of a text message (``sealchat.client.content`` has the others)."""
    return {"type": "text", "text": text}


def associated_data(room_id: str, sender_id: str, client_msg_id: str) -> bytes:
    """``"sealchat-envelope-v1"``, then each field as a uint32 big-endian length + UTF-8."""
    parts = [AAD_LABEL]
    for field in (room_id, sender_id, client_msg_id):
        if not isinstance(field, str):
            raise TypeError("room_id, sender_id and client_msg_id must be strings")
        encoded = field.encode("utf-8")
        parts += (struct.pack(">I", len(encoded)), encoded)
    return b"".join(parts)


def seal(
    *,
    data_key: bytes,
    key_id: str,
    encrypted_data_key: bytes,
    room_id: str,
    sender_id: str,
    client_msg_id: str,
    content: dict[str, Any],
    iv: bytes | None = None,
) -> dict[str, Any]:
    """Encrypt ``content`` for a room; returns the envelope to send.

    ``data_key`` is the plaintext data key and ``encrypted_data_key`` its ciphertext blob,
    both from the key service's GenerateDataKey under ``key_id``. Leave ``iv`` alone: a
    fresh random one is drawn for every message (it is a parameter for test vectors).
    Raises ``ValueError`` when an argument is out of the format's bounds, or ``content``
    is not valid content (docs/envelope.md §5; ``ContentError`` is a ``ValueError``).
    """
    if len(data_key) != KEY_BYTES:
        raise ValueError(f"data_key must be {KEY_BYTES} bytes")
    if not 1 <= len(encrypted_data_key) <= MAX_EDK_BYTES:
        raise ValueError(f"encrypted_data_key must be 1 to {MAX_EDK_BYTES} bytes")
    if iv is None:
        iv = os.urandom(IV_BYTES)
    elif len(iv) != IV_BYTES:
        raise ValueError(f"iv must be {IV_BYTES} bytes")
    parse_content(content)  # ContentError is a ValueError
    try:
        plaintext = json.dumps(
            content, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        ).encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError: a lone surrogate
        raise ValueError(f"content must be plain JSON text: {exc}") from None
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise ValueError(
            f"content is {len(plaintext)} bytes as JSON; the limit is {MAX_PLAINTEXT_BYTES}"
        )
    aad = associated_data(room_id, sender_id, client_msg_id)
    envelope = {
        "v": VERSION,
        "alg": ALGORITHM,
        "kid": key_id,
        "edk": _b64(encrypted_data_key),
        "iv": _b64(iv),
        "ct": _b64(AESGCM(data_key).encrypt(iv, plaintext, aad)),
    }
    try:
        check_envelope_shape(envelope)  # only the key id can still be out of bounds
    except EnvelopeShapeError as exc:
        raise ValueError(str(exc)) from None
    return envelope


def parse_envelope(envelope: object) -> ParsedEnvelope:
    """Check an envelope's shape and decode it; raises ``EnvelopeError``."""
    try:
        check_envelope_shape(envelope)
    except UnsupportedVersionError as exc:
        raise EnvelopeError("unsupported_version", exc.message) from None
    except EnvelopeShapeError as exc:
        raise EnvelopeError("malformed", exc.message) from None
    assert isinstance(envelope, dict)  # the shape check guarantees it
    return ParsedEnvelope(
        key_id=envelope["kid"],
        encrypted_data_key=_unb64(envelope["edk"]),
        iv=_unb64(envelope["iv"]),
        ciphertext=_unb64(envelope["ct"]),
    )


def open_envelope(
    parsed: ParsedEnvelope,
    *,
    data_key: bytes,
    room_id: str,
    sender_id: str,
    client_msg_id: str,
) -> dict[str, Any]:
    """Decrypt and return the content; raises ``EnvelopeError``.

    ``room_id``, ``sender_id`` and ``client_msg_id`` must come from the message as the
    server delivered it, never from the envelope: that is what stops a server from moving
    a message to another room or putting it in someone else's name.
    """
    try:
        aad = associated_data(room_id, sender_id, client_msg_id)
    except (TypeError, UnicodeError):
        raise EnvelopeError("malformed", "the message's ids must be strings") from None
    if len(data_key) != KEY_BYTES:
        # Whatever the key service unwrapped, it is not this format's data key.
        raise EnvelopeError("authentication_failed", f"the data key is not {KEY_BYTES} bytes")
    try:
        plaintext = AESGCM(data_key).decrypt(parsed.iv, parsed.ciphertext, aad)
    except InvalidTag:
        raise EnvelopeError(
            "authentication_failed",
            "the envelope does not authenticate: tampered with, wrong key, "
            "or not sealed for this room, sender and message id",
        ) from None
    return _content(plaintext)


def _content(plaintext: bytes) -> dict[str, Any]:
    """Authentic plaintext to content. Unknown types and members pass through untouched:
    the reader shows them as unsupported content, which is not a failure to open."""
    try:
        content = load_json(plaintext)
        parse_content(content)
    except ContentError as exc:
        raise EnvelopeError("bad_content", str(exc)) from None
    assert isinstance(content, dict)
    return content


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _unb64(value: str) -> bytes:
    raw = decode_base64(value)
    assert raw is not None  # checked by the shape check
    return raw
