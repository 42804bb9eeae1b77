"""The server's shape check: a sealed envelope v1 passes, anything else is refused clearly."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest

from sealchat.client.envelope import seal, text_content
from sealchat.domain.envelope import (
    IV_BYTES,
    MAX_CT_BYTES,
    MAX_EDK_BYTES,
    MAX_KID_CHARS,
    TAG_BYTES,
    InvalidEnvelope,
    UnsupportedEnvelopeVersion,
    check_envelope_shape,
    decode_base64,
)
from sealchat.domain.errors import InvalidInput


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def sealed() -> dict[str, Any]:
    return seal(
        data_key=os.urandom(32),
        key_id="sealchat-messages",
        encrypted_data_key=os.urandom(120),
        room_id="room",
        sender_id="alice",
        client_msg_id="m-1",
        content=text_content("hello"),
    )


def refusal(envelope: object) -> str:
    with pytest.raises(InvalidEnvelope) as caught:
        check_envelope_shape(envelope)
    assert caught.value.code == "invalid_envelope"
    return caught.value.message


def test_a_sealed_envelope_passes() -> None:
    check_envelope_shape(sealed())


def test_the_error_is_an_invalid_input_with_its_own_code() -> None:
    assert issubclass(UnsupportedEnvelopeVersion, InvalidEnvelope)
    assert issubclass(InvalidEnvelope, InvalidInput)
    assert InvalidEnvelope("x").code == "invalid_envelope"


@pytest.mark.parametrize("envelope", [None, "text", 1, [], ["v", 1]])
def test_a_non_object_is_refused(envelope: object) -> None:
    assert refusal(envelope) == "envelope must be a sealed envelope v1 (a JSON object)"


def test_a_plaintext_object_is_refused() -> None:
    message = refusal({"text": "hi"})
    assert message == "envelope must be a sealed envelope v1: unexpected member 'text'"


def test_an_empty_object_is_refused() -> None:
    assert refusal({}) == "envelope must be a sealed envelope v1: missing 'v'"


@pytest.mark.parametrize("name", ["v", "alg", "kid", "edk", "iv", "ct"])
def test_each_missing_member_is_named(name: str) -> None:
    envelope = sealed()
    del envelope[name]
    assert refusal(envelope) == f"envelope must be a sealed envelope v1: missing {name!r}"


def test_an_extra_member_is_named() -> None:
    message = refusal({**sealed(), "text": "hi"})
    assert message == "envelope must be a sealed envelope v1: unexpected member 'text'"


def test_a_long_extra_member_name_is_cut_short() -> None:
    message = refusal({**sealed(), "x" * 10_000: 1})
    assert len(message) < 120
    assert message.endswith("…")


@pytest.mark.parametrize("version", [0, 2, -1, 10**30])
def test_another_integer_version_is_unsupported(version: int) -> None:
    with pytest.raises(UnsupportedEnvelopeVersion) as caught:
        check_envelope_shape({**sealed(), "v": version})
    assert "unsupported envelope version" in caught.value.message
    assert "accepts version 1" in caught.value.message


def test_the_version_is_checked_before_the_members() -> None:
    with pytest.raises(UnsupportedEnvelopeVersion, match="version 2;"):
        check_envelope_shape({"v": 2, "payload": "whatever version 2 holds"})


@pytest.mark.parametrize("version", ["1", 1.0, True, None, [1]])
def test_a_version_that_is_not_an_integer_is_malformed(version: object) -> None:
    envelope = {**sealed(), "v": version}
    with pytest.raises(InvalidEnvelope) as caught:
        check_envelope_shape(envelope)
    assert not isinstance(caught.value, UnsupportedEnvelopeVersion)
    assert caught.value.message == "v must be the integer 1"


@pytest.mark.parametrize("alg", ["A128GCM", "a256gcm", "", None, 256])
def test_another_algorithm_is_refused(alg: object) -> None:
    assert refusal({**sealed(), "alg": alg}) == "alg must be 'A256GCM'"


@pytest.mark.parametrize(
    "kid", ["", "x" * (MAX_KID_CHARS + 1), "clé", "a\nb", "tab\there", "\x7f", None, 5]
)
def test_a_bad_key_id_is_refused(kid: object) -> None:
    assert refusal({**sealed(), "kid": kid}) == "kid must be 1 to 256 printable ASCII characters"


@pytest.mark.parametrize("kid", ["k", "x" * MAX_KID_CHARS, "arn:aws:kms:eu-west-1:1:key/a b~"])
def test_good_key_ids_pass(kid: str) -> None:
    check_envelope_shape({**sealed(), "kid": kid})


@pytest.mark.parametrize("name", ["edk", "iv", "ct"])
@pytest.mark.parametrize("value", [None, 12, b"AAAA", ["AAAA"]])
def test_binary_members_must_be_strings(name: str, value: object) -> None:
    assert refusal({**sealed(), name: value}) == f"{name} must be a base64 string"


def good_b64(name: str) -> str:
    return b64(os.urandom({"edk": 100, "iv": IV_BYTES, "ct": 40}[name]))


@pytest.mark.parametrize("name", ["edk", "iv", "ct"])
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda s: s.rstrip("=")[:-1], id="unpadded"),
        pytest.param(lambda s: s + "\n", id="newline"),
        pytest.param(lambda s: " " + s, id="space"),
        pytest.param(lambda s: s[:4] + "\n" + s[4:], id="inner-newline"),
        pytest.param(lambda s: "-_" + s[2:], id="url-safe"),
        pytest.param(lambda s: "é" + s[1:], id="non-ascii"),
        pytest.param(lambda s: s + "====", id="extra-padding"),
        pytest.param(lambda s: "=" + s[1:], id="leading-padding"),
    ],
)
def test_bad_base64_is_refused(name: str, spoil: Any) -> None:
    value = spoil(good_b64(name))
    message = refusal({**sealed(), name: value})
    assert message == f"{name} must be standard base64 with padding (RFC 4648 §4)"


def test_base64_with_nonzero_unused_bits_is_refused() -> None:
    # "AAAAAAAAAAAAAAAB" would be 12 bytes too, but its last bits are not the canonical zero.
    assert decode_base64("AAAAAAAAAAAAAAAA") == bytes(12)
    message = refusal({**sealed(), "ct": "QUJDREVGR0hJSktMTU5PUB=="})
    assert message == "ct must be standard base64 with padding (RFC 4648 §4)"


def test_decode_base64_agrees_with_the_standard_encoder() -> None:
    for size in range(0, 40):
        raw = os.urandom(size)
        assert decode_base64(b64(raw)) == raw
    # Every spelling of a 1- and 2-byte tail: only the encoder's own passes.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    for last in alphabet:
        for text in (f"Q{last}==", f"QU{last}="):
            decoded = decode_base64(text)
            assert decoded is None or b64(decoded) == text  # accepted only if canonical
    assert sum(decode_base64(f"Q{c}==") is not None for c in alphabet) == 4
    assert sum(decode_base64(f"QU{c}=") is not None for c in alphabet) == 16


@pytest.mark.parametrize(
    ("name", "size", "message"),
    [
        ("iv", 8, "iv must be 12 bytes, not 8"),
        ("iv", 16, "iv must be 12 bytes, not 16"),
        ("iv", 0, "iv must be 12 bytes, not 0"),
        ("edk", 0, "edk must be 1 to 1024 bytes, not 0"),
        ("edk", MAX_EDK_BYTES + 1, "edk must be 1 to 1024 bytes, not 1025"),
        ("edk", 2 * MAX_EDK_BYTES, "edk must be 1 to 1024 bytes, not 2048"),
        ("edk", 10 * MAX_EDK_BYTES, "edk must be 1 to 1024 bytes; 13656 characters is too long"),
        ("ct", 0, "ct must be 16 to 65552 bytes, not 0"),
        ("ct", TAG_BYTES - 1, "ct must be 16 to 65552 bytes, not 15"),
        ("ct", MAX_CT_BYTES + 1, "ct must be 16 to 65552 bytes, not 65553"),
        ("ct", 3 * MAX_CT_BYTES, "ct must be 16 to 65552 bytes; 262208 characters is too long"),
    ],
)
def test_sizes_out_of_bounds_are_refused(name: str, size: int, message: str) -> None:
    assert refusal({**sealed(), name: b64(os.urandom(size))}) == message


@pytest.mark.parametrize(
    ("name", "size"),
    [("edk", 1), ("edk", MAX_EDK_BYTES), ("ct", TAG_BYTES), ("ct", MAX_CT_BYTES)],
)
def test_sizes_at_the_bounds_pass(name: str, size: int) -> None:
    check_envelope_shape({**sealed(), name: b64(os.urandom(size))})
