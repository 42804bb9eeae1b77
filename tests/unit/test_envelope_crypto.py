"""Sealing and opening: round trips, fresh IVs, and every kind of tampering detected."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from sealchat.client.envelope import (
    REASONS,
    EnvelopeError,
    ParsedEnvelope,
    associated_data,
    open_envelope,
    parse_envelope,
    seal,
    text_content,
)
from sealchat.domain.envelope import MAX_PLAINTEXT_BYTES, check_envelope_shape

KEY = bytes(range(32))
EDK = b"wrapped data key"
IDS = {"room_id": "room-1", "sender_id": "alice", "client_msg_id": "m-1"}


def sealed(content: dict[str, Any] | None = None, **overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "data_key": KEY,
        "key_id": "sealchat-messages",
        "encrypted_data_key": EDK,
        "content": text_content("hello") if content is None else content,
        **IDS,
    }
    return seal(**{**arguments, **overrides})


def opened(envelope: object, *, data_key: bytes = KEY, **ids: str) -> dict[str, Any]:
    return open_envelope(parse_envelope(envelope), data_key=data_key, **{**IDS, **ids})


def failure(envelope: object, *, data_key: bytes = KEY, **ids: str) -> EnvelopeError:
    with pytest.raises(EnvelopeError) as caught:
        opened(envelope, data_key=data_key, **ids)
    assert caught.value.reason in REASONS
    return caught.value


def flip_bit(value: str, index: int) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 0x01
    return base64.b64encode(raw).decode("ascii")


def raw_sealed(plaintext: bytes) -> dict[str, Any]:
    """An authentic envelope around any plaintext, bypassing seal's content checks."""
    iv = os.urandom(12)
    ct = AESGCM(KEY).encrypt(iv, plaintext, associated_data(**IDS))
    envelope = sealed()
    envelope.update(iv=base64.b64encode(iv).decode(), ct=base64.b64encode(ct).decode())
    return envelope


@pytest.mark.parametrize("text", ["hello", "", "Grüße 👋\nline two", "x" * 10_000])
def test_round_trip(text: str) -> None:
    envelope = sealed(text_content(text))
    check_envelope_shape(envelope)
    assert opened(envelope) == {"type": "text", "text": text}


def test_the_envelope_carries_the_key_id_and_encrypted_data_key() -> None:
    parsed = parse_envelope(sealed())
    assert parsed == ParsedEnvelope("sealchat-messages", EDK, parsed.iv, parsed.ciphertext)
    assert len(parsed.ciphertext) == len(b'{"type":"text","text":"hello"}') + 16


def test_each_seal_draws_a_fresh_iv() -> None:
    envelopes = [sealed() for _ in range(200)]
    assert len({e["iv"] for e in envelopes}) == 200
    assert len({e["ct"] for e in envelopes}) == 200


def test_the_associated_data_layout() -> None:
    # The worked example in docs/envelope.md.
    aad = associated_data("r1", "u1", "m-1")
    parts = ["7365616c636861742d656e76656c6f70652d7631", "00000002", "7231"]
    parts += ["00000002", "7531", "00000003", "6d2d31"]
    assert aad.hex() == "".join(parts)


def test_associated_data_lengths_are_utf8_bytes() -> None:
    aad = associated_data("é", "", "")
    assert aad == b"sealchat-envelope-v1" + b"\x00\x00\x00\x02\xc3\xa9" + bytes(8)


@pytest.mark.parametrize("member", ["ct", "iv"])
@pytest.mark.parametrize("index", [0, -1])
def test_a_flipped_bit_fails_authentication(member: str, index: int) -> None:
    envelope = sealed()
    envelope[member] = flip_bit(envelope[member], index)  # ct's last byte is in the tag
    assert failure(envelope).reason == "authentication_failed"


def test_a_truncated_ciphertext_fails_authentication() -> None:
    envelope = sealed()
    raw = base64.b64decode(envelope["ct"])
    envelope["ct"] = base64.b64encode(raw[:-1]).decode()
    assert failure(envelope).reason == "authentication_failed"


@pytest.mark.parametrize(
    "ids",
    [
        {"room_id": "room-2"},
        {"sender_id": "mallory"},
        {"client_msg_id": "m-2"},
        {"room_id": "room-1a", "sender_id": "lice"},  # same bytes, other boundaries
        {"room_id": "alice", "sender_id": "room-1"},
    ],
)
def test_other_metadata_fails_authentication(ids: dict[str, str]) -> None:
    assert failure(sealed(), data_key=KEY, **ids).reason == "authentication_failed"


def test_an_envelope_replayed_into_another_room_fails() -> None:
    # The server stores alice's envelope from room-1 as a new message in room-2 (and may
    # even give it the same sender and client message id): readers there cannot open it.
    envelope = sealed()
    error = failure(envelope, room_id="room-2")
    assert error.reason == "authentication_failed"
    assert opened(envelope) == text_content("hello")


def test_a_wrong_data_key_fails_authentication() -> None:
    assert failure(sealed(), data_key=os.urandom(32)).reason == "authentication_failed"


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_a_data_key_of_the_wrong_size_fails_authentication(size: int) -> None:
    assert failure(sealed(), data_key=bytes(size)).reason == "authentication_failed"


def test_changing_kid_or_edk_does_not_change_what_opens_it() -> None:
    # kid and edk tell the reader which key to ask for; the key itself is what GCM checks.
    envelope = {**sealed(), "kid": "another-key", "edk": base64.b64encode(b"x").decode()}
    assert opened(envelope) == text_content("hello")


def test_another_version_is_unsupported_not_malformed() -> None:
    error = failure({**sealed(), "v": 2})
    assert error.reason == "unsupported_version"
    assert "version 2" in error.message


@pytest.mark.parametrize(
    "envelope",
    [{"text": "hi"}, None, "sealed", {}, {"v": "1"}, {"v": True}],
)
def test_a_malformed_envelope_is_malformed(envelope: object) -> None:
    assert failure(envelope).reason == "malformed"


def test_missing_ct_is_malformed() -> None:
    envelope = sealed()
    del envelope["ct"]
    error = failure(envelope)
    assert (error.reason, error.message) == (
        "malformed",
        "envelope must be a sealed envelope v1: missing 'ct'",
    )


def test_metadata_that_is_not_text_is_malformed() -> None:
    parsed = parse_envelope(sealed())
    with pytest.raises(EnvelopeError) as caught:
        open_envelope(parsed, data_key=KEY, room_id=None, sender_id="a", client_msg_id="m")  # type: ignore[arg-type]
    assert caught.value.reason == "malformed"


def test_unknown_content_types_and_members_are_returned_not_refused() -> None:
    poll = {"type": "x-poll", "question": "Lunch?", "options": ["pizza", "soup"]}
    assert opened(sealed(poll)) == poll
    extended = {"type": "text", "text": "hi", "format": {"bold": [0, 2]}}
    assert opened(sealed(extended)) == extended


@pytest.mark.parametrize(
    "plaintext",
    [
        b'"just a string"',
        b'["type", "text"]',
        b"not json",
        b"",
        b'{"type":"text","text":"\xff"}',
        b'{"type":"text","text":NaN}',
        b'{"text":"no type"}',
        b'{"type":7}',
        b'{"type":"text","text":null}',
        b'{"type":"text"}',
    ],
)
def test_authentic_but_bad_content(plaintext: bytes) -> None:
    assert failure(raw_sealed(plaintext)).reason == "bad_content"


def test_any_json_serialization_opens() -> None:
    plaintext = json.dumps({"text": "spaced", "type": "text"}, indent=2, ensure_ascii=True)
    assert opened(raw_sealed(plaintext.encode())) == {"type": "text", "text": "spaced"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"data_key": bytes(16)}, "data_key must be 32 bytes"),
        ({"encrypted_data_key": b""}, "encrypted_data_key must be 1 to 1024 bytes"),
        ({"encrypted_data_key": bytes(1025)}, "encrypted_data_key must be 1 to 1024 bytes"),
        ({"iv": bytes(16)}, "iv must be 12 bytes"),
        ({"key_id": ""}, "kid must be 1 to 256 printable ASCII characters"),
        ({"key_id": "clé"}, "kid must be 1 to 256 printable ASCII characters"),
        ({"content": {"text": "no type"}}, "the content has no string 'type'"),
        ({"content": {"type": "text", "text": 1}}, "text content has no string 'text'"),
        ({"content": {"type": "x", "n": float("nan")}}, "content must be plain JSON"),
        ({"content": {"type": "x", "n": b"bytes"}}, "content must be plain JSON"),
        ({"content": text_content("\ud800")}, "content must be plain JSON"),
        ({"content": text_content("x" * MAX_PLAINTEXT_BYTES)}, "the limit is 65536"),
    ],
)
def test_seal_refuses_arguments_out_of_bounds(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        sealed(**overrides)


def test_the_largest_content_seals_and_passes_the_shape_check() -> None:
    overhead = len(b'{"type":"text","text":""}')
    envelope = sealed(text_content("x" * (MAX_PLAINTEXT_BYTES - overhead)))
    check_envelope_shape(envelope)
    assert len(opened(envelope)["text"]) == MAX_PLAINTEXT_BYTES - overhead
