"""Attachments in an S3-compatible bucket (``WAPIPE_MEDIA_S3_BUCKET``): every process reads what any worker
stored, whatever disk it has. Plain HTTP requests over httpx, signed with AWS Signature Version 4
(``s3_signing``); failures are translated in ``s3_errors``.

- **Names.** A file is the object ``<prefix><ab>/<abcdef…>``, its SHA-256 in hex, as on disk; the path the
  database keeps is ``s3:<ab>/<abcdef…>``, without the bucket and the prefix, so the objects can be moved to
  another bucket or prefix by changing the settings alone.
- **Writing.** The stream is hashed into a spooled temporary file (in memory up to ``SPOOL_IN_MEMORY``, on
  the temporary directory's disk beyond), because the name is its hash, known only at the end; then a HEAD
  asks whether the object is there already (the same bytes saved twice are one object, uploaded once) and,
  if not, one PUT sends it from the file with its length and its SHA-256 signed: the service refuses a body
  that arrives different. An attachment is at most 100 MB, far below a single PUT's 5 GB, so no multipart
  upload (and no unfinished parts to clean up after a crash) is needed. S3 makes an object visible only once
  its PUT has completed: a failed or interrupted upload leaves nothing under the name, never a half-written
  file; two workers uploading the same bytes at once write the same object.
- **Reading.** ``open`` streams the object's body as it arrives (never held whole); ``read`` returns it whole
  for an upload to Pipedrive, which takes bytes. A missing object is ``NotFound``.
- **Deleting.** A DELETE; an object already gone is no error (S3 answers 204 either way).
- **Checks.** ``check_access`` writes, reads back and deletes a small object of its own under
  ``<prefix>wapipe-check/`` (the three things WaPipe does with attachments), so a missing bucket, refused
  credentials or a permission the key lacks is named when a process starts, before any attachment depends
  on it. ``reachable``, for health checks, is one GET of a name no file has there.
- **Earlier files.** Paths that do not begin with ``s3:`` are files saved on disk before the bucket was
  configured: they are read and deleted through ``earlier`` (``WAPIPE_MEDIA_DIR``), where that disk is still
  there; new files always go to the bucket.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import secrets
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

import httpx

from server.domain.clock import Clock, SystemClock
from server.domain.errors import NotFound, Permanent, WaPipeError
from server.domain.ports.storage import StoredFile
from server.domain.text import Text
from server.storage.media import IN_OBJECT_STORAGE, READ_CHUNK, DiskMediaFiles
from server.storage.s3_errors import error_code, s3_error
from server.storage.s3_signing import EMPTY_SHA256, S3Credentials, Signer, encode_path

SPOOL_IN_MEMORY = 1024 * 1024  # an attachment up to this size is hashed in memory, a larger one on disk
_NAME = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}")  # the part of a path after "s3:": ab/abcdef…
_DEFAULT_PORTS = {"http": 80, "https": 443}
CHECK_FOLDER = "wapipe-check/"  # the checks' own objects: never the name of a file (those are ab/<hash>)
CHECK_BODY = b"WaPipe checks that it may write, read and delete objects here; this one is deleted at once.\n"


def aws_endpoint(region: str) -> str:
    """Amazon S3's own endpoint for ``region``."""
    return f"https://s3.{region}.amazonaws.com"


class S3MediaFiles:
    """Files by content hash in ``bucket`` under ``prefix`` (empty, or ending in ``/``), reached at
    ``endpoint`` (``None``: Amazon S3 in the credentials' region, the bucket in the host name; any other
    endpoint, an S3-compatible service, with the bucket in the path, which they all understand)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        bucket: str,
        credentials: S3Credentials,
        endpoint: str | None = None,
        prefix: str = "",
        earlier: DiskMediaFiles | None = None,
        spool_dir: Path | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._http = http
        self.bucket = bucket
        self.prefix = prefix
        self._earlier = earlier
        self._spool_dir = str(spool_dir) if spool_dir is not None else None
        self._signer = Signer(credentials, clock or SystemClock())  # the wall clock: see s3_signing
        base = httpx.URL(endpoint or aws_endpoint(credentials.region))
        in_host = endpoint is None and "." not in bucket  # a dotted name would not match AWS's certificate
        self._scheme = base.scheme
        host = f"{bucket}.{base.host}" if in_host else base.host
        port = base.port if base.port not in (None, _DEFAULT_PORTS.get(base.scheme)) else None
        self._host = host if port is None else f"{host}:{port}"
        self._base_path = base.path.rstrip("/") + ("" if in_host else f"/{bucket}")

    def object_key(self, path: str) -> str:
        """The object a ``s3:`` path names; ``NotFound`` for anything that is not the name of one."""
        name = path.removeprefix(IN_OBJECT_STORAGE)
        if not path.startswith(IN_OBJECT_STORAGE) or not _NAME.fullmatch(name):
            raise NotFound(Text("This attachment is no longer stored."))
        return self.prefix + name

    async def save(self, chunks: AsyncIterator[bytes]) -> tuple[str, int, str]:
        digest = hashlib.sha256()
        size = 0
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY, dir=self._spool_dir) as spool:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                await asyncio.to_thread(spool.write, chunk)
            sha256 = digest.hexdigest()
            name = f"{sha256[:2]}/{sha256}"
            key = self.prefix + name
            if not await self._exists(key):
                await asyncio.to_thread(spool.seek, 0)
                await self._put(key, spool, size, sha256)
        return sha256, size, IN_OBJECT_STORAGE + name

    async def read(self, path: str) -> bytes:
        if not path.startswith(IN_OBJECT_STORAGE) and self._earlier is not None:
            return await self._earlier.read(path)
        response = await self._send("GET", self.object_key(path))
        if response.status_code == 404:
            raise NotFound(Text("This attachment is no longer stored."))
        if response.status_code != 200:
            raise s3_error(response, bucket=self.bucket)
        return response.content

    async def open(self, path: str) -> StoredFile:
        if not path.startswith(IN_OBJECT_STORAGE) and self._earlier is not None:
            return await self._earlier.open(path)
        response = await self._send("GET", self.object_key(path), stream=True)
        if response.status_code != 200:
            try:
                await response.aread()
            finally:
                await response.aclose()
            if response.status_code == 404:
                raise NotFound(Text("This attachment is no longer stored."))
            raise s3_error(response, bucket=self.bucket)
        length = response.headers.get("content-length", "")
        size = int(length) if length.isascii() and length.isdigit() else None
        return StoredFile(size, _body(response))

    async def delete(self, path: str) -> None:
        if not path.startswith(IN_OBJECT_STORAGE) and self._earlier is not None:
            await self._earlier.delete(path)
            return
        try:
            key = self.object_key(path)
        except NotFound:
            return  # no object is named so: nothing to delete
        response = await self._send("DELETE", key)
        if response.status_code not in (200, 204, 404):
            raise s3_error(response, bucket=self.bucket)

    async def check_access(self) -> None:
        """Write, read back and delete an object of its own; the domain error of the first step refused
        (``media_bucket_missing``, ``media_store_refused``, ``media_store_unavailable`` …), naming the
        setting to check. Each call uses a name of its own, so processes starting at once never meet."""
        key = f"{self.prefix}{CHECK_FOLDER}{secrets.token_hex(8)}"
        await self._put(key, io.BytesIO(CHECK_BODY), len(CHECK_BODY), hashlib.sha256(CHECK_BODY).hexdigest())
        read = await self._send("GET", key)
        failure: WaPipeError | None = None
        if read.status_code != 200:
            failure = s3_error(read, bucket=self.bucket)
        elif read.content != CHECK_BODY:
            failure = Permanent(
                Text("Object storage gave back other bytes than WaPipe wrote"), reason="media_store_failed"
            )
        deleted = await self._send("DELETE", key)  # also after a refused read: nothing of the check stays
        if failure is not None:
            raise failure
        if deleted.status_code not in (200, 204):
            raise s3_error(deleted, bucket=self.bucket)

    async def reachable(self) -> None:
        """For health checks, one GET of a name no file has: ``NoSuchKey`` (or ``AccessDenied``, S3's
        answer to a key that may not list the bucket) says the bucket is there and the credentials are
        accepted; anything else is the domain error ``s3_error`` makes of it."""
        response = await self._send("GET", f"{self.prefix}{CHECK_FOLDER}none")
        if response.status_code == 200:
            return
        if (response.status_code, error_code(response.content)) in (
            (404, "NoSuchKey"),
            (403, "AccessDenied"),
        ):
            return
        raise s3_error(response, bucket=self.bucket)

    async def _exists(self, key: str) -> bool:
        """Whether the object is there. Without permission to list the bucket, S3 answers a missing
        object's HEAD with 403: that reads as absent too, and the PUT then says whether writing is allowed."""
        response = await self._send("HEAD", key)
        if response.status_code == 200:
            return True
        if response.status_code in (403, 404):
            return False
        raise s3_error(response, bucket=self.bucket)

    async def _put(self, key: str, spool: IO[bytes], size: int, sha256: str) -> None:
        headers = {"content-length": str(size), "content-type": "application/octet-stream"}
        response = await self._send("PUT", key, headers=headers, payload_sha256=sha256, body=_spooled(spool))
        if response.status_code != 200:
            raise s3_error(response, bucket=self.bucket)

    async def _send(
        self,
        method: str,
        key: str,
        *,
        headers: dict[str, str] | None = None,
        payload_sha256: str | None = None,
        body: AsyncIterator[bytes] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        path = encode_path(f"{self._base_path}/{key}")
        signed = self._signer.headers(
            method, self._host, path, headers=headers, payload_sha256=payload_sha256 or EMPTY_SHA256
        )
        request = self._http.build_request(
            method, f"{self._scheme}://{self._host}{path}", headers=signed, content=body
        )
        try:
            response = await self._http.send(request, stream=stream)
        except httpx.HTTPError as failure:
            raise s3_error(failure, bucket=self.bucket) from failure
        return response


async def _spooled(spool: IO[bytes]) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(spool.read, READ_CHUNK):
        yield chunk


async def _body(response: httpx.Response) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.aiter_bytes(READ_CHUNK):
            yield chunk
    finally:
        await response.aclose()
