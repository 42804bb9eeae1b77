"""Sealed files from Python: seal and upload a file, then send the message naming it;
download a file message's blob and open it (docs/envelope.md §12, protocol.md §3.6).

The file is sealed here, segment by segment, while it streams to the server; the name,
media type and key go only into the sealed message.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import mimetypes
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from sealchat.client import file_seal
from sealchat.client.content_file import MAX_NAME_CHARS, FileContent
from sealchat.client.errors import ClientError
from sealchat.client.image_size import image_size
from sealchat.client.models import Message

if TYPE_CHECKING:
    from sealchat.client.client import SealchatClient

# (bytes done, bytes in all): for progress bars.
Progress = Callable[[int, int], None]


async def send_file(
    client: SealchatClient,
    room_id: str,
    path: str | os.PathLike[str],
    *,
    name: str | None = None,
    media_type: str | None = None,
    progress: Progress | None = None,
) -> Message:
    """Seal ``path`` under a fresh file key, upload it to the room and send the sealed
    ``file`` message naming it; returns the stored message."""
    source = Path(path)
    size = os.stat(source).st_size
    name = (name or source.name)[:MAX_NAME_CHARS] or "file"
    media_type = media_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    key = file_seal.new_file_key()
    total = file_seal.sealed_size(size)
    digest = hashlib.sha256()

    async def body() -> AsyncIterator[bytes]:
        nonlocal digest
        digest = hashlib.sha256()  # a retried upload starts over
        sealer = file_seal.SegmentSealer(key)
        segments = max(1, -(-size // sealer.segment_bytes))
        sent = 0
        with open(source, "rb") as handle:  # noqa: ASYNC230 - reads go to a thread below
            for index in range(-1, segments):
                if index < 0:
                    chunk = sealer.header
                else:
                    final = index == segments - 1
                    chunk = await asyncio.to_thread(_read_sealed, handle, sealer, final)
                digest.update(chunk)
                sent += len(chunk)
                if progress is not None:
                    progress(sent, total)
                yield chunk

    reply = await client.api.post_stream(f"/api/rooms/{room_id}/blobs", body, total)
    blob_id = str(reply["blob"]["id"])
    dimensions = (
        await asyncio.to_thread(image_size, source) if media_type.startswith("image/") else None
    )
    content = FileContent(
        name=name,
        media_type=media_type,
        size=size,
        blob_id=blob_id,
        key=key,
        sha256=digest.hexdigest(),
        width=dimensions[0] if dimensions else None,
        height=dimensions[1] if dimensions else None,
    )
    return await client.send_content(room_id, content, attachments=[blob_id])


def _read_sealed(handle: BinaryIO, sealer: file_seal.SegmentSealer, final: bool) -> bytes:
    # A file that changes size while it is read fails here (a short non-final segment).
    return sealer.seal(handle.read(sealer.segment_bytes), final=final)


async def download_file(
    client: SealchatClient,
    content: FileContent,
    destination: str | os.PathLike[str],
    *,
    progress: Progress | None = None,
) -> Path:
    """Download and open a file message's blob into ``destination`` (a file, or a
    directory to put the file's own name in). Written to a temporary file first: a
    blob that does not open (``FileSealError``) leaves nothing at ``destination``."""
    target = Path(destination)
    if os.path.isdir(target):  # noqa: ASYNC240 - one stat
        target = target / _safe_name(content.name)
    partial = target.with_name(f".{target.name}.part")
    opener = file_seal.SegmentOpener(content.key, content.sha256)
    total = file_seal.sealed_size(content.size)
    done = 0
    written = 0
    try:
        with open(partial, "wb") as out:  # noqa: ASYNC230 - writes go to a thread below
            async with client.api.stream_get(f"/api/blobs/{content.blob_id}") as response:
                async for chunk in response.aiter_bytes():
                    done += len(chunk)
                    for part in opener.feed(chunk):
                        written += len(part)
                        await asyncio.to_thread(out.write, part)
                    if progress is not None:
                        progress(done, total)
            last = opener.finish()
            written += len(last)
            await asyncio.to_thread(out.write, last)
        if written != content.size:
            raise file_seal.FileSealError(
                "malformed", f"the file is {written} bytes, not the {content.size} announced"
            )
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return target


def file_content(opened_content: dict[str, Any] | None) -> FileContent:
    """The file a message's opened content describes; ``ClientError`` if it is not one."""
    from sealchat.client.content import parse_content

    parsed = parse_content(opened_content) if opened_content is not None else None
    if not isinstance(parsed, FileContent):
        raise ClientError("not_a_file", "that message is not a file")
    return parsed


def _safe_name(name: str) -> str:
    """A sender's file name as a local file name: no directories, no hidden file."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1].strip().lstrip(".")
    cleaned = "".join(c if c.isprintable() else "_" for c in base)
    return cleaned or "file"
