"""HTTP routes for sealed files' blobs: upload as a stream, download with ranges."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from sealchat.api.deps import CurrentUser, Services
from sealchat.domain.blobs import Blob
from sealchat.domain.errors import InvalidInput

router = APIRouter(prefix="/api", tags=["blobs"])

# The upload route reads its own body, under its own limit (BodySizeLimit lets it through).
UPLOAD_PATH = re.compile(r"^/api/rooms/[^/]+/blobs$")
_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


@router.post("/rooms/{room_id}/blobs", status_code=201)
async def upload_blob(
    room_id: str, request: Request, user: CurrentUser, found: Services
) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and not declared.isdigit():
        raise InvalidInput("Content-Length is not a number")
    blob = await found.blobs.upload(
        user.id, room_id, request.stream(), int(declared) if declared is not None else None
    )
    return {"blob": blob_payload(blob)}


@router.get("/blobs/{blob_id}")
async def download_blob(
    blob_id: str, request: Request, user: CurrentUser, found: Services
) -> Response:
    blob = await found.blobs.readable(user.id, blob_id)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=31536000, immutable",  # a blob never changes
        "Content-Disposition": "attachment",
    }
    wanted = request.headers.get("range")
    start, end, status = 0, blob.size - 1, 200
    if wanted is not None:
        bounds = byte_range(wanted, blob.size)
        if bounds is None:
            return Response(
                status_code=416,
                headers={**headers, "Content-Range": f"bytes */{blob.size}"},
                content=b'{"error":{"code":"range_not_satisfiable","message":"the range is '
                b'outside the file"}}',
                media_type="application/json",
            )
        start, end = bounds
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        await found.blobs.open(blob, start, end),
        status_code=status,
        headers=headers,
        media_type="application/octet-stream",
    )


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """One ``bytes=`` range (RFC 9110 §14.1.2) to inclusive bounds; None when it cannot
    be satisfied. Several ranges are not supported: refused as unsatisfiable too."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        return (max(0, size - length), size - 1) if length > 0 else None
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return None
    return start, end


def blob_payload(blob: Blob) -> dict[str, Any]:
    return {
        "id": blob.id,
        "room_id": blob.room_id,
        "size": blob.size,
        "created_at": blob.created_at.isoformat(),
    }
