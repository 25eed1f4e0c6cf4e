"""Where attachments are kept, built from the settings: a composition-root helper for the web process, the
worker and the commands (the only modules that read settings).

Without ``WAPIPE_MEDIA_S3_BUCKET`` the files are on this machine's disk under ``WAPIPE_MEDIA_DIR``, the
embedded default; with it, in that S3-compatible bucket, where every process finds what any of them stored.
Files kept on disk before the bucket was configured are still read and deleted there.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from server.domain.ports.storage import MediaFiles
from server.settings import Settings
from server.storage.media import DiskMediaFiles
from server.storage.media_s3 import S3MediaFiles
from server.storage.s3_signing import S3Credentials
from server.transports import USER_AGENT, tls_context

# Connect fast; an attachment of up to 100 MB gets a minute between two reads or writes of its body.
MEDIA_TIMEOUT = httpx.Timeout(60.0, connect=5.0)


def key_prefix(raw: str) -> str:
    """``WAPIPE_MEDIA_S3_PREFIX`` as it goes before a name: empty, or ending in one slash."""
    return raw.rstrip("/") + "/" if raw.strip("/") else ""


def media_http_client(*, transport: httpx.AsyncBaseTransport | None = None) -> httpx.AsyncClient:
    """The bucket's own client: no cookies or credentials of another upstream, no redirects followed."""
    return httpx.AsyncClient(
        timeout=MEDIA_TIMEOUT, transport=transport, headers=USER_AGENT, verify=tls_context()
    )


@contextlib.asynccontextmanager
async def open_media_files(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[MediaFiles]:
    """The attachments' store the settings choose, open for as long as the block runs."""
    disk = DiskMediaFiles(settings.media_dir)
    if not settings.media_in_bucket:
        yield disk
        return
    credentials = S3Credentials(
        settings.media_s3_access_key_id,
        settings.media_s3_secret_access_key.get_secret_value(),
        settings.media_s3_region,
    )
    async with media_http_client(transport=transport) as http:
        yield S3MediaFiles(
            http,
            bucket=settings.media_s3_bucket,
            credentials=credentials,
            endpoint=settings.media_s3_endpoint.rstrip("/") or None,
            prefix=key_prefix(settings.media_s3_prefix),
            earlier=disk,
        )


async def check_media_store(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
    """What a process checks as it starts: with a bucket configured, that WaPipe may write, read and delete
    there (``S3MediaFiles.check_access``); the disk needs no check (it is created as files arrive)."""
    if not settings.media_in_bucket:
        return
    async with open_media_files(settings, transport=transport) as files:
        assert isinstance(files, S3MediaFiles)
        await files.check_access()


def bucket_probe(files: MediaFiles) -> Callable[[], Awaitable[None]] | None:
    """The health checks' probe of the attachments' bucket (``S3MediaFiles.reachable``); ``None`` for the
    disk, which has nothing to reach."""
    return files.reachable if isinstance(files, S3MediaFiles) else None
