"""Retention and the purge delete attachment files from the bucket through the jobs' store: the scenarios
of ``tests/storage/test_retention.py`` and ``tests/install/test_purge.py``, with every file moved into moto's
S3 first (its blob row then names it there), run through the jobs with the bucket as their ``media_files``.
A file the bucket refuses to delete is logged by its path, and the others still go."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.crypto import SecretBox
from server.domain.settings_form import CompanySettingsValues
from server.jobs.purge import purge_uninstalled_companies
from server.jobs.retention import apply_retention
from server.storage.companies import SqlCompanyStore
from server.storage.company_settings import SqlCompanySettingsStore
from server.storage.engine import make_async_engine
from server.storage.installations import SqlInstallationStore
from server.storage.media import DiskMediaFiles
from server.storage.media_deletions import delete_files, list_deletions, retry_deletions
from server.storage.media_s3 import S3MediaFiles
from server.storage.s3_signing import S3Credentials
from server.storage.tables import MediaBlob, MediaDeletionRow, table_of
from tests.install.test_purge import NOW as PURGE_NOW
from tests.install.test_purge import blob, fill_every_table, left_long_ago
from tests.job_deps import deps_over, run_ctx
from tests.media.s3_server import REGION, S3Server
from tests.media.test_media_files import on_disk, stream
from tests.media.test_s3_media_files import bucket_store
from tests.storage.test_retention import NOW, World, company, seed_synced_chat


@pytest.fixture
async def engine(migrated_sqlite: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_sqlite)
    yield engine
    await engine.dispose()


@pytest.fixture
async def bucket(s3_server: S3Server) -> AsyncIterator[S3MediaFiles]:
    async with httpx.AsyncClient() as http:
        yield bucket_store(s3_server, http, prefix="wapipe/")


async def to_bucket(engine: AsyncEngine, files: S3MediaFiles) -> None:
    """Every blob's file into the bucket and off the disk, its row naming it there."""
    blobs = table_of(MediaBlob)
    async with engine.connect() as connection:
        rows = (await connection.execute(select(blobs.c.sha256, blobs.c.path))).all()
    for sha256, path in rows:
        data = await asyncio.to_thread(Path(path).read_bytes)
        saved, _, moved = await files.save(stream(data))
        assert saved == sha256
        async with engine.begin() as connection:
            await connection.execute(update(blobs).where(blobs.c.sha256 == sha256).values(path=moved))
        await asyncio.to_thread(Path(path).unlink)


def contents(s3: S3Server, files: S3MediaFiles) -> set[bytes]:
    return set(s3.objects(files.bucket).values())


async def test_retention_deletes_old_files_from_the_bucket(
    engine: AsyncEngine, bucket: S3MediaFiles, s3_server: S3Server, tmp_path: Path
) -> None:
    world = World(
        engine, tmp_path / "media", await company(engine, 1, "Europe/Berlin"), await company(engine, 2, "UTC")
    )
    await SqlCompanySettingsStore(engine).save(
        world.a.id, CompanySettingsValues(message_retention_days=30, media_retention_days=10)
    )
    await seed_synced_chat(world)
    await to_bucket(engine, bucket)
    assert contents(s3_server, bucket) == {b"shared-photo", b"only-a", b"twenty", b"recent"}

    [outcome] = await apply_retention(run_ctx(deps_over(engine, media_files=bucket)), now=NOW)

    # only-a: its one message is older than the messages' period; twenty: older than the files' period;
    # shared-photo: company B's message still shows it
    assert contents(s3_server, bucket) == {b"shared-photo", b"recent"}
    assert outcome.files == 2
    assert on_disk(tmp_path / "media") == {}


async def test_the_purge_deletes_the_leaving_companys_files_from_the_bucket(
    engine: AsyncEngine, bucket: S3MediaFiles, s3_server: S3Server, tmp_path: Path
) -> None:
    media_dir = tmp_path / "media"
    shared_sha, _ = blob(media_dir, "shared")
    companies = SqlCompanyStore(engine)
    leaving = (await companies.upsert(100, name="leaving", api_domain="", timezone="UTC")).id
    await fill_every_table(engine, leaving, media_dir, shared_sha)
    staying = (await companies.upsert(200, name="staying", api_domain="", timezone="UTC")).id
    await fill_every_table(engine, staying, media_dir, shared_sha)
    await to_bucket(engine, bucket)
    assert contents(s3_server, bucket) == {b"shared", f"own-{leaving}".encode(), f"own-{staying}".encode()}
    await left_long_ago(engine, leaving)
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    ctx = run_ctx(deps_over(engine, installations=store, data_retention_days=30, media_files=bucket))

    assert await purge_uninstalled_companies(ctx, now=PURGE_NOW) == [leaving]

    assert contents(s3_server, bucket) == {b"shared", f"own-{staying}".encode()}


async def test_a_file_the_bucket_refuses_to_delete_stays_listed_and_goes_once_the_key_works(
    engine: AsyncEngine,
    s3_server: S3Server,
    bucket: S3MediaFiles,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, _, in_bucket = await bucket.save(stream(b"kept by a refusal"))
    disk = DiskMediaFiles(tmp_path / "media")
    _, _, on_this_disk = await disk.save(stream(b"from before the bucket"))
    async with engine.begin() as connection:  # as the transaction that deleted their rows lists them
        await list_deletions(connection, [in_bucket, on_this_disk])
    async with httpx.AsyncClient() as http:
        refused = bucket_store(
            s3_server,
            http,
            bucket.bucket,
            prefix="wapipe/",
            credentials=S3Credentials(s3_server.access_key_id, "a revoked secret", REGION),
            earlier=disk,
        )
        with caplog.at_level(logging.ERROR, logger="server.storage.media_deletions"):
            assert await delete_files(engine, refused, [in_bucket, on_this_disk]) == 1
    failed_at = datetime.now(UTC)

    assert contents(s3_server, bucket) == {b"kept by a refusal"}
    assert on_disk(tmp_path / "media") == {}
    [record] = [r for r in caplog.records if r.getMessage() == "attachment file not deleted"]
    assert (record.path, record.reason) == (in_bucket, "media_store_refused")  # type: ignore[attr-defined]
    assert "a revoked secret" not in caplog.text
    assert await listed(engine) == [(in_bucket, 1, "media_store_refused")]

    # Tried again only when due (five minutes after the failure), then deleted with the working key.
    assert (await retry_deletions(engine, bucket, failed_at)).as_dict() == {
        "deleted": 0,
        "failed": 0,
        "in_use": 0,
    }
    assert contents(s3_server, bucket) == {b"kept by a refusal"}
    later = await retry_deletions(engine, bucket, failed_at + timedelta(minutes=5, seconds=1))
    assert later.as_dict() == {"deleted": 1, "failed": 0, "in_use": 0}
    assert contents(s3_server, bucket) == set()
    assert await listed(engine) == []


async def listed(engine: AsyncEngine) -> list[tuple[str, int, str]]:
    table = table_of(MediaDeletionRow)
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(table.c.path, table.c.attempts, table.c.reason).order_by(table.c.path)
        )
        return [(str(p), int(a), str(r)) for p, a, r in rows]
