"""Client-side search and the small helpers of sealed files: normalization, matching,
image dimensions from a file's first bytes, and byte ranges on the server."""

from __future__ import annotations

import struct

import pytest

from sealchat.api.blobs import byte_range
from sealchat.client.image_size import image_size_of
from sealchat.client.search import matches, normalize, query_words


def test_normalize_ignores_case_and_accents() -> None:
    assert normalize("Crème BRÛLÉE") == "creme brulee"
    assert normalize("Straße") == "strasse"
    assert normalize("\uff46\uff55\uff4c\uff4c") == "full"  # fullwidth letters


def test_every_word_must_match() -> None:
    words = query_words("  cafe   CREME ")
    assert words == ["cafe", "creme"]
    assert matches("Rendez-vous au Café Crème", words)
    assert not matches("Café only", words)
    assert not matches("anything", [])


def test_image_sizes() -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + struct.pack(">II", 640, 480)
    assert image_size_of(png + b"\x08\x02\x00\x00\x00") == (640, 480)
    assert image_size_of(b"GIF89a" + struct.pack("<HH", 32, 16)) == (32, 16)
    jpeg = (
        b"\xff\xd8" + b"\xff\xe0\x00\x04ab" + b"\xff\xc0\x00\x11\x08" + struct.pack(">HH", 300, 200)
    )
    assert image_size_of(jpeg + b"\x00" * 12) == (200, 300)
    assert image_size_of(b"not an image") is None


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=10-", (10, 99)),
        ("bytes=-5", (95, 99)),
        ("bytes=90-500", (90, 99)),
        ("bytes=100-", None),
        ("bytes=5-4", None),
        ("bytes=-0", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
    ],
)
def test_byte_ranges(header: str, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 100) == expected
