"""spec/file-v1-vectors.json against sealchat.client.file_seal (docs/envelope.md §12)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sealchat.client import file_seal
from sealchat.client.file_seal import FileSealError, SegmentOpener

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads((ROOT / "spec" / "file-v1-vectors.json").read_text("utf-8"))


@pytest.mark.parametrize("vector", VECTORS["positive"], ids=lambda v: v["name"])
def test_sealing_gives_the_vector_blob(vector: dict[str, Any]) -> None:
    key = bytes.fromhex(vector["key_hex"])
    plaintext = bytes.fromhex(vector["plaintext_hex"])
    blob = file_seal.seal_bytes(
        key, plaintext, vector["segment_bytes"], bytes.fromhex(vector["nonce_prefix_hex"])
    )
    assert blob.hex() == vector["blob_hex"]
    assert hashlib.sha256(blob).hexdigest() == vector["sha256_hex"]
    assert len(blob) == file_seal.sealed_size(len(plaintext), vector["segment_bytes"])


@pytest.mark.parametrize("vector", VECTORS["positive"], ids=lambda v: v["name"])
@pytest.mark.parametrize("chunk", [1, 7, 1000, 10**9])
def test_opening_in_chunks_of_any_size(vector: dict[str, Any], chunk: int) -> None:
    key = bytes.fromhex(vector["key_hex"])
    blob = bytes.fromhex(vector["blob_hex"])
    opener = SegmentOpener(key, vector["sha256_hex"])
    parts: list[bytes] = []
    for start in range(0, len(blob), chunk):
        parts += opener.feed(blob[start : start + chunk])
    parts.append(opener.finish())
    assert b"".join(parts).hex() == vector["plaintext_hex"]


@pytest.mark.parametrize("vector", VECTORS["negative"], ids=lambda v: v["name"])
def test_refused_with_the_vector_reason(vector: dict[str, Any]) -> None:
    with pytest.raises(FileSealError) as caught:
        file_seal.open_bytes(
            bytes.fromhex(vector["key_hex"]),
            bytes.fromhex(vector["blob_hex"]),
            vector.get("sha256_hex"),
        )
    assert caught.value.reason == vector["expected_reason"]


def test_sealing_draws_a_fresh_nonce_prefix_and_streams_any_chunks() -> None:
    key = file_seal.new_file_key()
    data = bytes(range(256)) * 700
    chunks = [data[i : i + 5000] for i in range(0, len(data), 5000)]
    one = b"".join(file_seal.seal_chunks(key, chunks))
    two = file_seal.seal_bytes(key, data)
    assert one[4:8] == two[4:8] and one[8:16] != two[8:16]
    assert file_seal.open_bytes(key, one) == data == file_seal.open_bytes(key, two)


def test_the_vector_file_is_up_to_date() -> None:
    script = ROOT / "tools" / "make-file-vectors"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
