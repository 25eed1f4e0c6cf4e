"""What only the bucket's store does: the names it gives, the requests it sends (recorded on their way to
moto), how each failure reads, and the files kept on disk before the bucket was configured."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.domain.errors import ConfigurationError, NotFound, Permanent, Transient
from server.storage.media import READ_CHUNK, DiskMediaFiles
from server.storage.media_s3 import S3MediaFiles
from server.storage.s3_signing import S3Credentials
from tests.media.s3_server import REGION, S3Server
from tests.media.test_media_files import PHOTO, on_disk, stream


@dataclass
class Sent:
    method: str
    url: httpx.URL
    headers: httpx.Headers
    pieces: list[int] = field(default_factory=list)  # the sizes of the body's pieces, as they went out


class _Counted(httpx.AsyncByteStream):
    def __init__(self, stream: Any, pieces: list[int]) -> None:
        self._stream, self._pieces = stream, pieces

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for piece in self._stream:
            self._pieces.append(len(piece))
            yield piece


class Recording(httpx.AsyncBaseTransport):
    """The network, with every request noted on its way (``answer``: a stand-in that answers instead)."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.sent: list[Sent] = []
        self._answer = answer
        self._network = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        seen = Sent(request.method, request.url, request.headers)
        self.sent.append(seen)
        request.stream = _Counted(request.stream, seen.pieces)
        if self._answer is not None:
            await request.aread()
            return self._answer(request)
        return await self._network.handle_async_request(request)

    def methods(self) -> list[str]:
        return [s.method for s in self.sent]


def credentials(s3: S3Server, secret: str | None = None) -> S3Credentials:
    return S3Credentials(s3.access_key_id, secret or s3.secret_access_key, REGION)


def bucket_store(
    s3: S3Server, http: httpx.AsyncClient, bucket: str | None = None, **given: Any
) -> S3MediaFiles:
    values: dict[str, Any] = {"credentials": credentials(s3), "endpoint": s3.endpoint, **given}
    return S3MediaFiles(http, bucket=bucket or s3.new_bucket(), **values)


async def test_the_path_names_the_object_under_the_prefix_but_not_the_bucket(s3_server: S3Server) -> None:
    """The objects can move to another bucket and prefix: the paths the database keeps stay right."""
    sha256 = hashlib.sha256(PHOTO).hexdigest()
    async with httpx.AsyncClient() as http:
        first = bucket_store(s3_server, http, prefix="acme/")
        assert await first.save(stream(PHOTO)) == (sha256, len(PHOTO), f"s3:{sha256[:2]}/{sha256}")
        assert s3_server.objects(first.bucket) == {f"acme/{sha256[:2]}/{sha256}": PHOTO}

        moved = s3_server.new_bucket()
        s3_server.client().put_object(Bucket=moved, Key=f"{sha256[:2]}/{sha256}", Body=PHOTO)
        assert await bucket_store(s3_server, http, moved).read(f"s3:{sha256[:2]}/{sha256}") == PHOTO


async def test_a_file_already_in_the_bucket_is_not_uploaded_again(s3_server: S3Server) -> None:
    network = Recording()
    async with httpx.AsyncClient(transport=network) as http:
        files = bucket_store(s3_server, http)
        await files.save(stream(PHOTO))
        assert network.methods() == ["HEAD", "PUT"]
        await files.save(stream(PHOTO))
        assert network.methods() == ["HEAD", "PUT", "HEAD"]


async def test_the_upload_streams_from_the_spool_with_its_length_and_hash_signed(s3_server: S3Server) -> None:
    """One PUT with Content-Length (S3 refuses chunked transfer encoding), the body in pieces of at most
    ``READ_CHUNK`` bytes, and the content's SHA-256 as the signed payload hash."""
    data = b"\x00\x01" * (1024 * 1024)  # two megabytes: spooled to disk
    network = Recording()
    async with httpx.AsyncClient(transport=network) as http:
        await bucket_store(s3_server, http).save(stream(data))
    put = network.sent[-1]
    assert put.method == "PUT"
    assert put.headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in put.headers
    assert put.headers["x-amz-content-sha256"] == hashlib.sha256(data).hexdigest()
    assert "x-amz-content-sha256" in put.headers["authorization"].split("SignedHeaders=")[1]
    assert sum(put.pieces) == len(data) and len(put.pieces) > 1 and max(put.pieces) <= READ_CHUNK


async def test_a_wrong_secret_is_refused_by_name_and_never_shown(s3_server: S3Server) -> None:
    async with httpx.AsyncClient() as http:
        right = bucket_store(s3_server, http)
        _, _, path = await right.save(stream(PHOTO))
        wrong = bucket_store(
            s3_server, http, right.bucket, credentials=credentials(s3_server, "not-the-secret")
        )
        attempts = [lambda: wrong.save(stream(b"new")), lambda: wrong.read(path), lambda: wrong.open(path)]
        for attempt in [*attempts, lambda: wrong.delete(path)]:
            with pytest.raises(Permanent) as refused:
                await attempt()
            assert refused.value.reason == "media_store_refused"
            assert "SignatureDoesNotMatch" in refused.value.message
            assert "WAPIPE_MEDIA_S3_SECRET_ACCESS_KEY" in refused.value.message
            assert "not-the-secret" not in refused.value.message
            assert s3_server.secret_access_key not in refused.value.message
    assert list(s3_server.objects(right.bucket).values()) == [PHOTO]


async def test_a_missing_bucket_is_named(s3_server: S3Server) -> None:
    async with httpx.AsyncClient() as http:
        files = bucket_store(s3_server, http, "no-such-bucket")
        with pytest.raises(Permanent) as missing:
            await files.save(stream(PHOTO))
    assert missing.value.reason == "media_bucket_missing"
    assert not isinstance(missing.value, NotFound)  # not "the attachment is gone": the download is retried
    assert "no-such-bucket" in missing.value.message and "WAPIPE_MEDIA_S3_BUCKET" in missing.value.message


async def test_a_store_that_cannot_be_reached_is_worth_retrying(s3_server: S3Server) -> None:
    async with httpx.AsyncClient() as http:
        files = bucket_store(s3_server, http, "media", endpoint="http://127.0.0.1:9")  # the discard port
        with pytest.raises(Transient) as unreachable:
            await files.save(stream(PHOTO))
    assert unreachable.value.reason == "media_store_unavailable"
    assert isinstance(unreachable.value.__cause__, httpx.ConnectError)


def _answering(status: int, body: bytes = b"", **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body if request.method != "HEAD" else b"", headers=headers)

    return answer


@pytest.mark.parametrize(
    ("status", "body", "headers", "retry_after"),
    [
        (503, b"<Error><Code>SlowDown</Code></Error>", {"Retry-After": "7"}, 7.0),
        (500, b"<Error><Code>InternalError</Code></Error>", {}, 5.0),
        (429, b"", {}, 5.0),
    ],
)
async def test_a_busy_or_failing_service_is_worth_retrying(
    s3_server: S3Server, status: int, body: bytes, headers: dict[str, str], retry_after: float
) -> None:
    async with httpx.AsyncClient(transport=Recording(_answering(status, body, **headers))) as http:
        files = bucket_store(s3_server, http, "media")
        with pytest.raises(Transient) as busy:
            await files.read("s3:" + "ab/" + "ab" * 32)
    assert (busy.value.reason, busy.value.retry_after) == ("media_store_unavailable", retry_after)


async def test_without_permission_to_list_a_missing_object_is_uploaded_all_the_same(
    s3_server: S3Server,
) -> None:
    """S3 answers a HEAD for a missing object with 403 when the key may not list the bucket."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403 if request.method == "HEAD" else 200)

    network = Recording(answer)
    async with httpx.AsyncClient(transport=network) as http:
        await bucket_store(s3_server, http, "media").save(stream(PHOTO))
    assert network.methods() == ["HEAD", "PUT"]


async def test_paths_that_name_no_object_are_not_asked_for(s3_server: S3Server) -> None:
    network = Recording(_answering(200, b"never"))
    async with httpx.AsyncClient(transport=network) as http:
        files = bucket_store(s3_server, http, "media")
        for path in ("s3:../../other-bucket/x", "s3:ab/" + "AB" * 32, "s3:", "s3:ab/cd"):
            with pytest.raises(NotFound):
                await files.read(path)
            await files.delete(path)
    assert network.sent == []


async def test_amazon_s3_is_reached_with_the_bucket_in_the_host(s3_server: S3Server) -> None:
    network = Recording(_answering(200, PHOTO))
    sha256 = hashlib.sha256(PHOTO).hexdigest()
    async with httpx.AsyncClient(transport=network) as http:
        await bucket_store(s3_server, http, "acme-media", endpoint=None).read(f"s3:{sha256[:2]}/{sha256}")
        await bucket_store(s3_server, http, "acme.media", endpoint=None).read(f"s3:{sha256[:2]}/{sha256}")
    assert [str(s.url) for s in network.sent] == [
        f"https://acme-media.s3.{REGION}.amazonaws.com/{sha256[:2]}/{sha256}",
        f"https://s3.{REGION}.amazonaws.com/acme.media/{sha256[:2]}/{sha256}",  # a dotted name: in the path
    ]


async def test_files_kept_on_disk_before_the_bucket_stay_readable_and_deletable(
    s3_server: S3Server, tmp_path: Path
) -> None:
    disk = DiskMediaFiles(tmp_path / "media")
    _, _, earlier_path = await disk.save(stream(b"from before the bucket"))
    async with httpx.AsyncClient() as http:
        files = bucket_store(s3_server, http, earlier=disk)
        assert await files.read(earlier_path) == b"from before the bucket"
        opened = await files.open(earlier_path)
        assert b"".join([chunk async for chunk in opened.chunks]) == b"from before the bucket"
        _, _, new_path = await files.save(stream(PHOTO))
        assert new_path.startswith("s3:")
        assert list(s3_server.objects(files.bucket).values()) == [PHOTO]  # new files go to the bucket
        await files.delete(earlier_path)
    assert on_disk(tmp_path / "media") == {}


async def test_a_process_without_the_bucket_refuses_its_files_by_name(tmp_path: Path) -> None:
    disk = DiskMediaFiles(tmp_path / "media")
    path = "s3:ab/" + "ab" * 32
    for attempt in (lambda: disk.read(path), lambda: disk.open(path), lambda: disk.delete(path)):
        with pytest.raises(ConfigurationError) as refused:
            await attempt()
        assert refused.value.reason == "media_store_not_configured"
        assert "WAPIPE_MEDIA_S3_BUCKET" in refused.value.message
    assert not (tmp_path / "media").exists()
