"""What every attachments' store does, on this machine's disk (``DiskMediaFiles``) and in an S3-compatible
bucket (``S3MediaFiles`` against moto's S3, signatures checked): the same tests, each run on both.

Each store is looked at from outside as well: the disk's folder walked, the bucket listed through boto3, so
"nothing half-written is visible" and "the same bytes are one file" are checked where another process would
look, not through the store's own answers. Hashes are computed here with hashlib."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from server.domain.errors import NotFound
from server.domain.ports.storage import MediaFiles
from server.storage.media import READ_CHUNK, DiskMediaFiles
from server.storage.media_s3 import S3MediaFiles
from server.storage.s3_signing import S3Credentials
from tests.media.s3_server import REGION, S3Server

PHOTO = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


@dataclass
class Store:
    files: MediaFiles
    kept: Callable[[], dict[str, bytes]]  # everything the store holds, by name, as another process sees it


def on_disk(directory: Path) -> dict[str, bytes]:
    if not directory.exists():
        return {}
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()
    }


@pytest.fixture(params=["disk", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "disk":
        yield Store(DiskMediaFiles(tmp_path / "media"), lambda: on_disk(tmp_path / "media"))
        return
    s3: S3Server = request.getfixturevalue("s3_server")
    bucket = s3.new_bucket()
    async with httpx.AsyncClient() as http:
        files = S3MediaFiles(
            http,
            bucket=bucket,
            credentials=S3Credentials(s3.access_key_id, s3.secret_access_key, REGION),
            endpoint=s3.endpoint,
            prefix="tenant/media/",
        )
        yield Store(files, lambda: s3.objects(bucket))


async def stream(data: bytes, piece: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start : start + piece]


async def whole(files: MediaFiles, path: str) -> tuple[int | None, list[bytes]]:
    opened = await files.open(path)
    return opened.size, [chunk async for chunk in opened.chunks]


async def test_a_saved_file_is_named_by_its_hash_and_read_back_whole_and_streamed(store: Store) -> None:
    sha256, size, path = await store.files.save(stream(PHOTO))
    assert (sha256, size) == (hashlib.sha256(PHOTO).hexdigest(), len(PHOTO))
    assert await store.files.read(path) == PHOTO
    opened_size, chunks = await whole(store.files, path)
    assert (opened_size, b"".join(chunks)) == (len(PHOTO), PHOTO)
    assert list(store.kept().values()) == [PHOTO]
    [name] = store.kept()
    assert name.endswith(f"{sha256[:2]}/{sha256}")


async def test_an_empty_file_is_a_file_too(store: Store) -> None:
    sha256, size, path = await store.files.save(stream(b""))
    assert (sha256, size) == (hashlib.sha256(b"").hexdigest(), 0)
    assert await store.files.read(path) == b""
    assert await whole(store.files, path) == (0, [])


async def test_the_same_bytes_saved_twice_are_one_file(store: Store) -> None:
    first = await store.files.save(stream(PHOTO))
    again = await store.files.save(stream(PHOTO, piece=1000))  # cut differently: the same content
    other = await store.files.save(stream(b"another file"))
    assert again == first
    assert other[2] != first[2]
    assert sorted(store.kept().values()) == sorted([PHOTO, b"another file"])


async def test_a_download_that_breaks_off_leaves_nothing_to_find(store: Store) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield PHOTO[:1000]
        raise ConnectionResetError("the gateway hung up")

    with pytest.raises(ConnectionResetError):
        await store.files.save(broken())
    assert store.kept() == {}
    _, _, path = await store.files.save(stream(PHOTO))  # the next try stores it whole
    assert list(store.kept().values()) == [PHOTO]
    assert await store.files.read(path) == PHOTO


async def test_a_deleted_file_is_gone_and_deleting_it_again_is_no_error(store: Store) -> None:
    _, _, path = await store.files.save(stream(PHOTO))
    _, _, kept_path = await store.files.save(stream(b"kept"))
    await store.files.delete(path)
    assert list(store.kept().values()) == [b"kept"]
    with pytest.raises(NotFound):
        await store.files.read(path)
    with pytest.raises(NotFound):
        await store.files.open(path)
    await store.files.delete(path)
    assert await store.files.read(kept_path) == b"kept"


async def test_a_large_file_streams_in_pieces(store: Store) -> None:
    """Three megabytes: past what the bucket's store hashes in memory (it spools to disk beyond one), read
    back in pieces of at most ``READ_CHUNK`` bytes, never as one."""
    data = hashlib.sha256(b"seed").digest() * (3 * 1024 * 1024 // 32)
    _, size, path = await store.files.save(stream(data))
    opened_size, chunks = await whole(store.files, path)
    assert opened_size == size == len(data)
    assert b"".join(chunks) == data
    assert len(chunks) >= len(data) // READ_CHUNK and max(map(len, chunks)) <= READ_CHUNK
