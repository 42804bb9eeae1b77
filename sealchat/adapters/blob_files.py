"""Blobs as files under a directory (the default: ``{data_dir}/blobs``).

An upload is written to ``tmp/`` and renamed into place once complete, so a blob file is
always whole; a failed upload leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

from sealchat.adapters.secret_files import ensure_private_directory
from sealchat.domain.errors import NotFound

READ_CHUNK_BYTES = 256 * 1024
_SAFE_ID = re.compile(r"[0-9a-f-]{36}")


class FileBlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root
        ensure_private_directory(root)
        ensure_private_directory(root / "tmp")

    def path(self, blob_id: str) -> Path:
        if not _SAFE_ID.fullmatch(blob_id):  # ids are the server's UUIDs: no path tricks
            raise ValueError("not a blob id")
        return self._root / blob_id[:2] / blob_id

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes]) -> int:
        final = self.path(blob_id)
        partial = self._root / "tmp" / f"{blob_id}.part"
        size = 0
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
                    size += len(chunk)
                await asyncio.to_thread(_flush, out)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(partial, final)
        except BaseException:
            with contextlib.suppress(OSError):
                partial.unlink()
            raise
        return size

    async def read(self, blob_id: str, start: int, end: int) -> AsyncIterator[bytes]:
        try:
            source = open(self.path(blob_id), "rb")  # noqa: ASYNC230, SIM115 - one open per read
        except FileNotFoundError:
            raise NotFound("no such file") from None  # removed by the cleanup meanwhile
        with source:  # once open, the file reads whole even if it is removed now
            await asyncio.to_thread(source.seek, start)
            left = end - start + 1
            while left > 0:
                chunk = await asyncio.to_thread(source.read, min(READ_CHUNK_BYTES, left))
                if not chunk:
                    break
                left -= len(chunk)
                yield chunk

    async def delete(self, blob_id: str) -> None:
        # Also what an upload cut off by a crash left in tmp/ (its row is an orphan).
        for path in (self.path(blob_id), self._root / "tmp" / f"{blob_id}.part"):
            with contextlib.suppress(FileNotFoundError):
                await asyncio.to_thread(path.unlink)


def _flush(out: object) -> None:
    out.flush()  # type: ignore[attr-defined]
    os.fsync(out.fileno())  # type: ignore[attr-defined]
