"""File content: what a ``{"type": "file"}`` message says about a sealed file.

The name, the media type and the file key travel only inside the sealed message; the
server sees the blob id (it stored the blob) and nothing else (docs/envelope.md §5.1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from sealchat.envelope_spec import decode_base64

MAX_NAME_CHARS: Final = 255
MAX_MEDIA_TYPE_CHARS: Final = 255
MAX_BLOB_ID_CHARS: Final = 64
MAX_SIZE: Final = 2**53 - 1
MAX_DIMENSION: Final = 65535
MAX_THUMBNAIL_BYTES: Final = 32 * 1024
THUMBNAIL_TYPES: Final = frozenset({"image/jpeg", "image/png", "image/webp"})
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class ContentError(ValueError):
    """Authentic plaintext that is not valid content; the reason code is ``bad_content``."""

    reason: Final = "bad_content"


@dataclass(frozen=True, slots=True)
class Thumbnail:
    media_type: str
    data: bytes

    def to_json(self) -> dict[str, Any]:
        import base64

        return {"media_type": self.media_type, "data": base64.b64encode(self.data).decode()}


@dataclass(frozen=True, slots=True)
class FileContent:
    """A sealed file: open the blob ``blob_id`` with ``key`` (32 bytes)."""

    name: str
    media_type: str
    size: int
    blob_id: str
    key: bytes
    sha256: str  # of the blob (the ciphertext), lowercase hex
    width: int | None = None
    height: int | None = None
    thumbnail: Thumbnail | None = None

    def to_json(self) -> dict[str, Any]:
        import base64

        out: dict[str, Any] = {
            "type": "file",
            "name": self.name,
            "media_type": self.media_type,
            "size": self.size,
            "blob_id": self.blob_id,
            "key": base64.b64encode(self.key).decode(),
            "sha256": self.sha256,
        }
        if self.width is not None and self.height is not None:
            out["width"] = self.width
            out["height"] = self.height
        if self.thumbnail is not None:
            out["thumbnail"] = self.thumbnail.to_json()
        return out


def parse_file(value: dict[str, Any]) -> FileContent:
    """A ``file`` content's members, checked; raises ``ContentError``."""
    name = _text(value, "name", MAX_NAME_CHARS)
    media_type = _text(value, "media_type", MAX_MEDIA_TYPE_CHARS)
    size = _integer(value.get("size"), "size", 0, MAX_SIZE)
    blob_id = _text(value, "blob_id", MAX_BLOB_ID_CHARS)
    raw_key = value.get("key")
    key = decode_base64(raw_key) if isinstance(raw_key, str) else None
    if key is None or len(key) != 32:
        raise ContentError("file key must be 32 bytes in canonical base64")
    sha256 = value.get("sha256")
    if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
        raise ContentError("file sha256 must be 64 lowercase hex digits")
    width = height = None
    if "width" in value or "height" in value:
        width = _integer(value.get("width"), "width", 1, MAX_DIMENSION)
        height = _integer(value.get("height"), "height", 1, MAX_DIMENSION)
    thumbnail = _thumbnail(value["thumbnail"]) if "thumbnail" in value else None
    return FileContent(name, media_type, size, blob_id, key, sha256, width, height, thumbnail)


def _text(value: dict[str, Any], name: str, most: int) -> str:
    found = value.get(name)
    if not isinstance(found, str) or not 1 <= len(found) <= most:
        raise ContentError(f"file {name} must be a string of 1 to {most} characters")
    return found


def _integer(found: object, name: str, least: int, most: int) -> int:
    # bool is an int in Python; JSON's true is not a number.
    if not isinstance(found, int) or isinstance(found, bool) or not least <= found <= most:
        raise ContentError(f"file {name} must be an integer from {least} to {most}")
    return found


def _thumbnail(found: object) -> Thumbnail:
    if not isinstance(found, dict):
        raise ContentError("thumbnail must be an object")
    media_type = found.get("media_type")
    if media_type not in THUMBNAIL_TYPES:
        raise ContentError("thumbnail media_type must be image/jpeg, image/png or image/webp")
    data = found.get("data")
    raw = decode_base64(data) if isinstance(data, str) else None
    if raw is None or not 1 <= len(raw) <= MAX_THUMBNAIL_BYTES:
        raise ContentError(f"thumbnail data must be 1 to {MAX_THUMBNAIL_BYTES} bytes of base64")
    return Thumbnail(str(media_type), raw)
