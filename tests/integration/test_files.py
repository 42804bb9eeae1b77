"""Sealed files end to end: a live server storing blobs on local disk (SQLite and
PostgreSQL) and in S3 (moto's server), driven by the Python client and raw HTTP."""

from __future__ import annotations

import asyncio
import hashlib
import os
import struct
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from sealchat.client import ClientError, SealchatClient
from sealchat.client.content import FileContent
from sealchat.client.file_seal import FileSealError
from sealchat.client.files import download_file, send_file
from tests.integration.conftest import ClientFactory, unique_name
from tests.live_server import LiveServer, start_server
from tests.membership import add_member
from tests.pg_support import create_temp_database, drop_database

MAX_UPLOAD = 300_000
QUOTA = 1_000_000
BUCKET = "sealchat-files"
REGION = "eu-west-1"


@dataclass
class FileServer:
    live: LiveServer
    s3: Any | None  # a boto3 S3 client on moto, when the blobs are in S3

    @property
    def url(self) -> str:
        return self.live.url

    def stored(self) -> dict[str, bytes]:
        """Every blob in the store, by its name there."""
        if self.s3 is not None:
            listed = self.s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
            return {
                o["Key"]: self.s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
                for o in listed
            }
        root = self.live.data_dir / "blobs"
        return {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()}

    def replace(self, blob_id: str, data: bytes) -> None:
        if self.s3 is not None:
            self.s3.put_object(Bucket=BUCKET, Key=f"team/{blob_id}", Body=data)
        else:
            (self.live.data_dir / "blobs" / blob_id[:2] / blob_id).write_bytes(data)

    def remove(self, blob_id: str) -> None:
        """Take the bytes away behind the server's back (as a cleanup running meanwhile)."""
        if self.s3 is not None:
            self.s3.delete_object(Bucket=BUCKET, Key=f"team/{blob_id}")
        else:
            (self.live.data_dir / "blobs" / blob_id[:2] / blob_id).unlink()


LIMITS = {
    "SEALCHAT_MAX_UPLOAD_BYTES": str(MAX_UPLOAD),
    "SEALCHAT_BLOB_QUOTA_BYTES": str(QUOTA),
    # Orphans go after 5 s, looked for twice a second: every test references its blobs
    # right after uploading them, except the ones that wait for an orphan to go.
    "SEALCHAT_BLOB_ORPHAN_SECONDS": "5",
    "SEALCHAT_BLOB_CLEANUP_INTERVAL_SECONDS": "0.5",
}


@pytest.fixture(
    scope="module",
    params=["local", pytest.param("local-postgres", marks=pytest.mark.postgres), "s3"],
)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FileServer]:
    env = dict(LIMITS)
    database_url = None
    moto = None
    s3 = None
    if request.param == "local-postgres":
        database_url = asyncio.run(create_temp_database())
        env["SEALCHAT_DATABASE_URL"] = database_url
    if request.param == "s3":
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        moto.start()
        host, port = moto.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        s3 = boto3.client(
            "s3",
            region_name=REGION,
            endpoint_url=endpoint,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        env.update(
            {
                "SEALCHAT_BLOB_URL": f"s3://{BUCKET}/team",
                "SEALCHAT_BLOB_S3_ENDPOINT": endpoint,
                "SEALCHAT_BLOB_S3_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "test",
                "AWS_SECRET_ACCESS_KEY": "test",
            }
        )
    live = start_server(tmp_path_factory.mktemp(f"files-{request.param}"), env)
    yield FileServer(live, s3)
    live.stop()
    if moto is not None:
        moto.stop()
    if database_url:
        asyncio.run(drop_database(database_url))


@pytest.fixture
def live_server(server: FileServer) -> LiveServer:
    return server.live


@pytest.fixture
async def new_client(server: FileServer) -> AsyncIterator[ClientFactory]:
    from tests.integration.conftest import PASSWORD

    made: list[SealchatClient] = []

    async def make(username: str | None = None, *, connect: bool = False) -> SealchatClient:
        client = SealchatClient(server.url)
        made.append(client)
        await client.register(username or unique_name(), PASSWORD)
        if connect:
            await client.connect()
        return client

    yield make
    for client in made:
        await client.close()


def png(width: int, height: int, extra: bytes = b"") -> bytes:
    """A real (tiny) PNG header and IHDR, then ``extra``: enough for the size sniffer."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    chunk += struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + chunk + extra


async def room_of_two(new_client: ClientFactory) -> tuple[SealchatClient, SealchatClient, str]:
    alice = await new_client(connect=True)
    bob = await new_client(connect=True)
    room = await alice.create_room(unique_name("files"))
    await add_member(alice, bob, room["id"])
    return alice, bob, room["id"]


async def raw_upload(
    client: SealchatClient, room_id: str, body: Any, **headers: str
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=client.api.base_url, timeout=30) as http:
        return await http.post(
            f"/api/rooms/{room_id}/blobs",
            content=body,
            headers={"Authorization": f"Bearer {client.api.access_token}", **headers},
        )


async def raw_get(client: SealchatClient, blob_id: str, **headers: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=client.api.base_url, timeout=30) as http:
        return await http.get(
            f"/api/blobs/{blob_id}",
            headers={"Authorization": f"Bearer {client.api.access_token}", **headers},
        )


async def received_file(client: SealchatClient) -> FileContent:
    opened = await client.next_opened()
    content = opened.parsed
    assert isinstance(content, FileContent), opened
    return content


async def test_an_image_goes_round_trip_sealed(
    server: FileServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob, room_id = await room_of_two(new_client)
    marker = b"PLAINTEXT-MARKER-" + os.urandom(8).hex().encode()
    data = png(640, 480, marker * 4000 + os.urandom(70_000))  # several segments
    source = tmp_path / "holiday-photo-7c1d.png"
    source.write_bytes(data)
    seen: list[tuple[int, int]] = []

    await send_file(alice, room_id, source, progress=lambda d, t: seen.append((d, t)))
    content = await received_file(bob)
    assert (content.name, content.media_type, content.size) == (source.name, "image/png", len(data))
    assert (content.width, content.height) == (640, 480)
    assert seen[-1][0] == seen[-1][1]

    out = tmp_path / "bob"
    out.mkdir()
    saved = await download_file(bob, content, out)
    assert saved == out / source.name
    assert saved.read_bytes() == data

    # Neither the name nor the bytes reach the server's storage: database and blob store.
    stored = server.stored()
    blob = next(b for b in stored.values() if hashlib.sha256(b).hexdigest() == content.sha256)
    assert marker not in blob and len(blob) > len(data)
    everything = b"".join(p.read_bytes() for p in server.live.data_dir.rglob("*") if p.is_file())
    everything += b"".join(stored.values())
    assert marker not in everything
    assert source.name.encode() not in everything
    assert b"image/png" not in everything


async def test_range_requests(
    server: FileServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob, room_id = await room_of_two(new_client)
    source = tmp_path / "r.bin"
    source.write_bytes(os.urandom(5000))
    await send_file(alice, room_id, source)
    content = await received_file(bob)
    whole = await raw_get(bob, content.blob_id)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    blob = whole.content
    middle = await raw_get(bob, content.blob_id, Range="bytes=10-19")
    assert middle.status_code == 206 and middle.content == blob[10:20]
    assert middle.headers["content-range"] == f"bytes 10-19/{len(blob)}"
    tail = await raw_get(bob, content.blob_id, Range="bytes=-7")
    assert tail.status_code == 206 and tail.content == blob[-7:]
    beyond = await raw_get(bob, content.blob_id, Range=f"bytes={len(blob)}-")
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(blob)}"


async def test_only_members_of_the_room_can_download_or_upload(
    server: FileServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob, room_id = await room_of_two(new_client)
    mallory = await new_client()
    source = tmp_path / "secret.txt"
    source.write_bytes(b"members only")
    await send_file(alice, room_id, source)
    content = await received_file(bob)
    refused = await raw_get(mallory, content.blob_id)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert b"members only" not in refused.content
    upload = await raw_upload(mallory, room_id, b"x" * 100)
    assert upload.status_code == 403 and upload.json()["error"]["code"] == "forbidden"
    async with httpx.AsyncClient(base_url=server.url) as http:
        anonymous = await http.get(f"/api/blobs/{content.blob_id}")
    assert anonymous.status_code == 401


@pytest.mark.parametrize("declared", [True, False])
async def test_over_the_size_limit_nothing_is_stored(
    server: FileServer, new_client: ClientFactory, declared: bool
) -> None:
    alice, _, room_id = await room_of_two(new_client)
    before = set(server.stored())

    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(MAX_UPLOAD // 50_000 + 1):
            yield os.urandom(50_000)

    body: Any = os.urandom(MAX_UPLOAD + 1) if declared else chunked()
    refused = await raw_upload(alice, room_id, body)
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "payload_too_large"
    assert set(server.stored()) <= before


async def test_over_the_quota_nothing_is_stored(
    server: FileServer, new_client: ClientFactory
) -> None:
    alice, _, room_id = await room_of_two(new_client)
    ids = []
    for _ in range(3):
        done = await raw_upload(alice, room_id, os.urandom(MAX_UPLOAD))
        assert done.status_code == 201, done.text
        ids.append(done.json()["blob"]["id"])
    before = set(server.stored())
    refused = await raw_upload(alice, room_id, os.urandom(MAX_UPLOAD))
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "quota_exceeded"
    assert set(server.stored()) <= before


async def test_unreferenced_blobs_are_removed_and_referenced_ones_kept(
    server: FileServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob, room_id = await room_of_two(new_client)
    source = tmp_path / "kept.txt"
    source.write_bytes(b"kept")
    await send_file(alice, room_id, source)
    kept = await received_file(bob)
    orphan = (await raw_upload(alice, room_id, os.urandom(1000))).json()["blob"]["id"]
    assert (await raw_get(alice, orphan)).status_code == 200
    deadline = time.monotonic() + 60
    while (await raw_get(alice, orphan)).status_code == 200:
        assert time.monotonic() < deadline, "the orphan was never removed"
        await asyncio.sleep(0.5)
    assert (await raw_get(alice, orphan)).json()["error"]["code"] == "not_found"
    assert not any(orphan in name for name in server.stored())
    assert (await raw_get(bob, kept.blob_id)).status_code == 200


async def test_a_blob_gone_from_the_store_answers_not_found_not_a_cut_response(
    server: FileServer, new_client: ClientFactory
) -> None:
    # The cleanup removes a blob between the download's index lookup and its first read:
    # the download must answer 404 before any header, not a 200 cut short.
    alice, _, room_id = await room_of_two(new_client)
    blob_id = (await raw_upload(alice, room_id, os.urandom(1000))).json()["blob"]["id"]
    server.remove(blob_id)
    for headers in ({}, {"Range": "bytes=10-19"}):
        gone = await raw_get(alice, blob_id, **headers)
        assert gone.status_code == 404, gone.status_code
        assert gone.json()["error"]["code"] == "not_found"


async def test_deleting_a_file_message_removes_its_blob(
    server: FileServer, new_client: ClientFactory, tmp_path: Path
) -> None:
    alice, bob, room_id = await room_of_two(new_client)
    source = tmp_path / "gone.txt"
    source.write_bytes(b"taken back")
    sent = await send_file(alice, room_id, source)
    shared = await received_file(bob)
    assert (await raw_get(bob, shared.blob_id)).status_code == 200
    await alice.delete_message(room_id, sent["id"])
    deadline = time.monotonic() + 60
    while (await raw_get(bob, shared.blob_id)).status_code == 200:
        assert time.monotonic() < deadline, "the deleted message's blob was never removed"
        await asyncio.sleep(0.5)
    assert not any(shared.blob_id in name for name in server.stored())


async def test_a_message_cannot_keep_someone_elses_blob(
    server: FileServer, new_client: ClientFactory
) -> None:
    alice, bob, room_id = await room_of_two(new_client)
    alices = (await raw_upload(alice, room_id, os.urandom(100))).json()["blob"]["id"]
    sealer = await bob.sealer()
    client_msg_id, envelope = await sealer.seal_text(room_id, "mine now")
    with pytest.raises(ClientError) as caught:
        await bob.realtime.call(
            "message:send",
            {
                "room_id": room_id,
                "client_msg_id": client_msg_id,
                "envelope": envelope,
                "attachments": [alices],
            },
        )
    assert caught.value.code == "invalid_input"
    assert await bob.history(room_id) == []


@pytest.mark.parametrize("damage", ["tampered", "truncated", "swapped"])
async def test_a_damaged_blob_is_refused_by_the_opener(
    server: FileServer, new_client: ClientFactory, tmp_path: Path, damage: str
) -> None:
    alice, bob, room_id = await room_of_two(new_client)
    source = tmp_path / "doc.pdf"
    source.write_bytes(os.urandom(200_000))
    await send_file(alice, room_id, source)
    content = await received_file(bob)
    blob = (await raw_get(bob, content.blob_id)).content
    segment = 64 * 1024 + 16
    if damage == "tampered":
        changed = blob[:100] + bytes([blob[100] ^ 1]) + blob[101:]
    elif damage == "truncated":
        changed = blob[: 16 + 2 * segment]
    else:
        changed = blob[:16] + blob[16 + segment : 16 + 2 * segment] + blob[16 : 16 + segment]
        changed += blob[16 + 2 * segment :]
    server.replace(content.blob_id, changed)
    # Every segment is checked before the announced SHA-256 is. (A blob cut short in the
    # store is also shorter than the server's Content-Length: the transfer itself fails.)
    with pytest.raises((FileSealError, ClientError)) as caught:
        await download_file(bob, content, tmp_path / "out.pdf")
    if damage != "truncated":
        assert isinstance(caught.value, FileSealError)
        assert caught.value.reason == "authentication_failed"
    assert not (tmp_path / "out.pdf").exists()
    assert not list(tmp_path.glob(".out.pdf*"))
