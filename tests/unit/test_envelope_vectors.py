"""The committed test vectors (spec/envelope-v1-vectors.json) against the client's code."""

from __future__ import annotations

import base64
import json
import runpy
from pathlib import Path
from typing import Any

import pytest

from sealchat.client.envelope import (
    EnvelopeError,
    associated_data,
    open_envelope,
    parse_envelope,
    seal,
)

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec" / "envelope-v1-vectors.json").read_text(encoding="utf-8"))
POSITIVE: list[dict[str, Any]] = VECTORS["positive"]
NEGATIVE: list[dict[str, Any]] = VECTORS["negative"]


def names(vectors: list[dict[str, Any]]) -> list[str]:
    return [vector["name"] for vector in vectors]


def ids(vector: dict[str, Any]) -> dict[str, str]:
    return {key: vector[key] for key in ("room_id", "sender_id", "client_msg_id")}


def test_the_file_is_what_the_generator_writes() -> None:
    generator = runpy.run_path(str(ROOT / "tools" / "make-envelope-vectors"), run_name="vectors")
    committed = (ROOT / "spec" / "envelope-v1-vectors.json").read_text(encoding="utf-8")
    assert generator["render"]() == committed, "run tools/make-envelope-vectors"


def test_the_file_has_the_cases_the_spec_promises() -> None:
    assert VECTORS["format"] == "sealchat-envelope-v1"
    assert {"ascii_text", "unicode_text_emoji_newline", "empty_text"} <= set(names(POSITIVE))
    reasons = {vector["expected_reason"] for vector in NEGATIVE}
    assert reasons == {"authentication_failed", "unsupported_version", "malformed", "bad_content"}
    assert len(set(names(POSITIVE + NEGATIVE))) == len(POSITIVE) + len(NEGATIVE)


@pytest.mark.parametrize("vector", POSITIVE, ids=names(POSITIVE))
def test_sealing_with_the_fixed_iv_reproduces_the_envelope(vector: dict[str, Any]) -> None:
    envelope = seal(
        data_key=bytes.fromhex(vector["data_key_hex"]),
        key_id=vector["key_id"],
        encrypted_data_key=base64.b64decode(vector["encrypted_data_key_b64"]),
        content=vector["content"],
        iv=bytes.fromhex(vector["iv_hex"]),
        **ids(vector),
    )
    assert envelope == vector["envelope"]
    assert list(envelope) == ["v", "alg", "kid", "edk", "iv", "ct"]


@pytest.mark.parametrize("vector", POSITIVE, ids=names(POSITIVE))
def test_the_associated_data_matches(vector: dict[str, Any]) -> None:
    aad = associated_data(vector["room_id"], vector["sender_id"], vector["client_msg_id"])
    assert aad.hex() == vector["aad_hex"]


@pytest.mark.parametrize("vector", POSITIVE, ids=names(POSITIVE))
def test_the_plaintext_is_the_content(vector: dict[str, Any]) -> None:
    plaintext = bytes.fromhex(vector["plaintext_utf8_hex"])
    assert json.loads(plaintext.decode("utf-8")) == vector["content"]


@pytest.mark.parametrize("vector", POSITIVE, ids=names(POSITIVE))
def test_opening_returns_the_content(vector: dict[str, Any]) -> None:
    parsed = parse_envelope(vector["envelope"])
    assert parsed.key_id == vector["key_id"]
    assert parsed.encrypted_data_key == base64.b64decode(vector["encrypted_data_key_b64"])
    assert parsed.iv == bytes.fromhex(vector["iv_hex"])
    content = open_envelope(parsed, data_key=bytes.fromhex(vector["data_key_hex"]), **ids(vector))
    assert content == vector["content"]


@pytest.mark.parametrize("vector", NEGATIVE, ids=names(NEGATIVE))
def test_every_negative_vector_fails_for_its_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(EnvelopeError) as caught:
        parsed = parse_envelope(vector["envelope"])
        open_envelope(parsed, data_key=bytes.fromhex(vector["data_key_hex"]), **ids(vector))
    assert caught.value.reason == vector["expected_reason"]
