"""Blobs in any S3-compatible store (``SEALCHAT_BLOB_URL=s3://bucket/prefix``), via boto3.

An upload goes up as a multipart upload in parts of ``PART_BYTES`` (one PutObject when
it fits in one part) and is aborted when the stream fails: S3 keeps nothing of it.
boto3 is synchronous: every call runs on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from sealchat.domain.errors import NotFound, Unavailable

PART_BYTES = 8 * 1024 * 1024  # S3's smallest part is 5 MiB (all but the last)
READ_CHUNK_BYTES = 256 * 1024


def parse_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix`` to (bucket, prefix ending in ``/`` or empty)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"SEALCHAT_BLOB_URL must be s3://bucket/prefix, not {url!r}")
    prefix = parts.path.strip("/")
    return parts.netloc, f"{prefix}/" if prefix else ""


class S3BlobStore:
    def __init__(self, url: str, *, endpoint: str = "", region: str = "") -> None:
        import boto3  # optional: pip install sealchat[aws]

        self._bucket, self._prefix = parse_s3_url(url)
        self._s3: Any = boto3.client(
            "s3", endpoint_url=endpoint or None, region_name=region or None
        )

    def key(self, blob_id: str) -> str:
        return f"{self._prefix}{blob_id}"

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes]) -> int:
        key = self.key(blob_id)
        buffer = bytearray()
        size = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= PART_BYTES:
                    if upload_id is None:
                        started = await self._call(
                            "create_multipart_upload", Bucket=self._bucket, Key=key
                        )
                        upload_id = str(started["UploadId"])
                    parts.append(await self._part(key, upload_id, len(parts) + 1, buffer))
                    del buffer[:PART_BYTES]
            if upload_id is None:
                await self._call("put_object", Bucket=self._bucket, Key=key, Body=bytes(buffer))
                return size
            if buffer or not parts:
                parts.append(await self._part(key, upload_id, len(parts) + 1, buffer))
            await self._call(
                "complete_multipart_upload",
                Bucket=self._bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            if upload_id is not None:
                with contextlib.suppress(Exception):
                    await self._call(
                        "abort_multipart_upload", Bucket=self._bucket, Key=key, UploadId=upload_id
                    )
            raise
        return size

    async def read(self, blob_id: str, start: int, end: int) -> AsyncIterator[bytes]:
        got = await self._call(
            "get_object",
            missing_is_not_found=True,  # removed by the cleanup meanwhile
            Bucket=self._bucket,
            Key=self.key(blob_id),
            Range=f"bytes={start}-{end}",
        )
        body = got["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, READ_CHUNK_BYTES):
                yield chunk
        finally:
            body.close()

    async def delete(self, blob_id: str) -> None:
        await self._call("delete_object", Bucket=self._bucket, Key=self.key(blob_id))

    async def _part(
        self, key: str, upload_id: str, number: int, buffer: bytearray
    ) -> dict[str, Any]:
        answer = await self._call(
            "upload_part",
            Bucket=self._bucket,
            Key=key,
            UploadId=upload_id,
            PartNumber=number,
            Body=bytes(buffer[:PART_BYTES]),
        )
        return {"ETag": answer["ETag"], "PartNumber": number}

    async def _call(
        self, operation: str, *, missing_is_not_found: bool = False, **kwargs: Any
    ) -> Any:
        """An S3 operation on a worker thread; its failures as ``Unavailable`` (or, with
        ``missing_is_not_found``, a missing key as ``NotFound``)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await asyncio.to_thread(getattr(self._s3, operation), **kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if missing_is_not_found and code in {"NoSuchKey", "404"}:
                raise NotFound("no such file") from None
            raise Unavailable(f"the blob store refused {operation}: {exc}") from exc
        except BotoCoreError as exc:
            raise Unavailable(f"the blob store refused {operation}: {exc}") from exc
