"""Sealed files v1: a file encrypted in segments with its own key (docs/envelope.md §12).

A blob is a 16-byte header (``SCF1``, the plaintext segment size, an 8-byte nonce
prefix) followed by the segments, each AES-256-GCM with the segment's index and a
final-segment flag in the associated data, so segments cannot be reordered, dropped,
repeated or cut off without the opener noticing. spec/file-v1-vectors.json holds the
shared test vectors; the web client's twin is web/src/lib/file-seal.ts.
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC: Final = b"SCF1"
HEADER_BYTES: Final = 16
KEY_BYTES: Final = 32
NONCE_PREFIX_BYTES: Final = 8
TAG_BYTES: Final = 16
DEFAULT_SEGMENT_BYTES: Final = 64 * 1024
MIN_SEGMENT_BYTES: Final = 16
MAX_SEGMENT_BYTES: Final = 4 * 1024 * 1024
MAX_SEGMENTS: Final = 2**32


class FileSealError(ValueError):
    """A blob that does not open; ``reason`` is ``malformed``, ``unsupported_version``,
    ``authentication_failed`` or ``hash_mismatch``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def header(segment_bytes: int, nonce_prefix: bytes) -> bytes:
    if not MIN_SEGMENT_BYTES <= segment_bytes <= MAX_SEGMENT_BYTES:
        raise ValueError(f"segment size must be {MIN_SEGMENT_BYTES} to {MAX_SEGMENT_BYTES}")
    if len(nonce_prefix) != NONCE_PREFIX_BYTES:
        raise ValueError(f"the nonce prefix is {NONCE_PREFIX_BYTES} bytes")
    return MAGIC + struct.pack(">I", segment_bytes) + nonce_prefix


def segment_iv(nonce_prefix: bytes, index: int) -> bytes:
    return nonce_prefix + struct.pack(">I", index)


def segment_aad(head: bytes, index: int, final: bool) -> bytes:
    return head + struct.pack(">I", index) + (b"\x01" if final else b"\x00")


def sealed_size(plaintext_bytes: int, segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> int:
    """The blob's size for a file of ``plaintext_bytes``."""
    segments = max(1, -(-plaintext_bytes // segment_bytes))
    return HEADER_BYTES + plaintext_bytes + segments * TAG_BYTES


def new_file_key() -> bytes:
    return os.urandom(KEY_BYTES)


class SegmentSealer:
    """Seals one file segment by segment; call ``seal`` with ``final=True`` exactly once,
    last. ``nonce_prefix`` is for test vectors only."""

    def __init__(
        self,
        key: bytes,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        nonce_prefix: bytes | None = None,
    ) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"a file key is {KEY_BYTES} bytes")
        self._aes = AESGCM(key)
        self._prefix = nonce_prefix if nonce_prefix is not None else os.urandom(8)
        self.segment_bytes = segment_bytes
        self.header = header(segment_bytes, self._prefix)
        self._index = 0
        self._done = False

    def seal(self, plaintext: bytes, *, final: bool) -> bytes:
        if self._done:
            raise ValueError("the final segment is already sealed")
        if len(plaintext) > self.segment_bytes or (
            not final and len(plaintext) != self.segment_bytes
        ):
            raise ValueError("every segment but the last is exactly the segment size")
        if self._index >= MAX_SEGMENTS:
            raise ValueError("too many segments")
        iv = segment_iv(self._prefix, self._index)
        out = self._aes.encrypt(iv, plaintext, segment_aad(self.header, self._index, final))
        self._index += 1
        self._done = final
        return out


def seal_chunks(
    key: bytes,
    chunks: Iterable[bytes],
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    nonce_prefix: bytes | None = None,
) -> Iterator[bytes]:
    """The blob of the plaintext ``chunks`` (any sizes), header first, one segment at a time."""
    sealer = SegmentSealer(key, segment_bytes, nonce_prefix)
    yield sealer.header
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        # Keep at least one byte back: the segment holding the end must be marked final.
        while len(buffer) > segment_bytes:
            yield sealer.seal(bytes(buffer[:segment_bytes]), final=False)
            del buffer[:segment_bytes]
    yield sealer.seal(bytes(buffer), final=True)


def seal_bytes(
    key: bytes,
    plaintext: bytes,
    segment_bytes: int = DEFAULT_SEGMENT_BYTES,
    nonce_prefix: bytes | None = None,
) -> bytes:
    return b"".join(seal_chunks(key, [plaintext], segment_bytes, nonce_prefix))


class SegmentOpener:
    """Opens a blob fed in chunks of any size; ``finish`` checks that it ended well.

    Plaintext comes out one authenticated segment at a time; only ``finish`` says the file
    is complete (a reader MUST NOT treat the output as the whole file before it returns).
    """

    def __init__(self, key: bytes, expected_sha256: str | None = None) -> None:
        if len(key) != KEY_BYTES:
            raise FileSealError("authentication_failed", f"a file key is {KEY_BYTES} bytes")
        self._aes = AESGCM(key)
        self._expected = expected_sha256
        self._digest = hashlib.sha256()
        self._buffer = bytearray()
        self._header: bytes | None = None
        self._segment_bytes = 0
        self._index = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """Plaintext of the segments ``chunk`` completes (never the last one)."""
        self._digest.update(chunk)
        self._buffer += chunk
        out: list[bytes] = []
        if self._header is None:
            if len(self._buffer) < HEADER_BYTES:
                return out
            self._read_header(bytes(self._buffer[:HEADER_BYTES]))
            del self._buffer[:HEADER_BYTES]
        full = self._segment_bytes + TAG_BYTES
        # A full segment is known not to be the last only once a byte follows it.
        while len(self._buffer) > full:
            out.append(self._open(bytes(self._buffer[:full]), final=False))
            del self._buffer[:full]
        return out

    def finish(self) -> bytes:
        """The last segment's plaintext; raises ``FileSealError`` if the blob is cut short."""
        if self._header is None:
            raise FileSealError("malformed", "the blob is shorter than its header")
        if len(self._buffer) < TAG_BYTES:
            raise FileSealError("malformed", "the blob ends inside a segment's tag")
        if len(self._buffer) == TAG_BYTES and self._index > 0:
            # Only an empty file has an empty final segment: one way to write each file.
            raise FileSealError("malformed", "an empty final segment after a full one")
        last = self._open(bytes(self._buffer), final=True)
        self._buffer.clear()
        if self._expected is not None and self._digest.hexdigest() != self._expected.lower():
            raise FileSealError("hash_mismatch", "the blob's SHA-256 is not the one announced")
        return last

    def _read_header(self, head: bytes) -> None:
        if head[:3] != MAGIC[:3]:
            raise FileSealError("malformed", "not a sealed file (bad magic)")
        if head[3:4] != MAGIC[3:4]:
            raise FileSealError("unsupported_version", "a sealed file of another version")
        (segment_bytes,) = struct.unpack(">I", head[4:8])
        if not MIN_SEGMENT_BYTES <= segment_bytes <= MAX_SEGMENT_BYTES:
            raise FileSealError("malformed", f"segment size {segment_bytes} is out of range")
        self._header = head
        self._segment_bytes = segment_bytes

    def _open(self, segment: bytes, *, final: bool) -> bytes:
        assert self._header is not None
        if self._index >= MAX_SEGMENTS:
            raise FileSealError("malformed", "too many segments")
        iv = segment_iv(self._header[8:16], self._index)
        try:
            plaintext = self._aes.decrypt(
                iv, segment, segment_aad(self._header, self._index, final)
            )
        except InvalidTag:
            raise FileSealError(
                "authentication_failed",
                f"segment {self._index} does not verify: the file was changed, cut short, "
                "reordered or the key is wrong",
            ) from None
        self._index += 1
        return plaintext


def open_bytes(key: bytes, blob: bytes, expected_sha256: str | None = None) -> bytes:
    opener = SegmentOpener(key, expected_sha256)
    parts = opener.feed(blob)
    parts.append(opener.finish())
    return b"".join(parts)


async def open_stream(
    key: bytes, chunks: AsyncIterable[bytes], expected_sha256: str | None = None
) -> AsyncIterator[bytes]:
    """Plaintext of a streamed blob, segment by segment; the last after every check."""
    opener = SegmentOpener(key, expected_sha256)
    async for chunk in chunks:
        for part in opener.feed(chunk):
            yield part
    yield opener.finish()
