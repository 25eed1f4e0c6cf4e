"""Attachment files whose rows are gone are deleted even when the first try fails or never runs: listed in
the same transaction as the rows' deletion, tried again on a doubling wait up to a day, never given up; a
file stored again since (same bytes, same name) stays. On SQLite and PostgreSQL, files on a real disk."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.crypto import SecretBox
from server.domain.errors import Transient
from server.domain.ports.storage import StoredFile
from server.jobs.purge import purge_uninstalled_companies
from server.jobs.retention import retry_media_deletions
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.installations import SqlInstallationStore
from server.storage.media import DiskMediaFiles
from server.storage.media_deletions import delete_files, list_deletions, retry_deletions
from server.storage.tables import MediaBlob, MediaDeletionRow, table_of
from tests.install.test_purge import NOW as PURGE_NOW
from tests.install.test_purge import blob, fill_every_table, left_long_ago
from tests.job_deps import deps_over, run_ctx
from tests.media.test_media_files import stream

DELETIONS = table_of(MediaDeletionRow)


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


class Unreachable(DiskMediaFiles):
    """The disk, but every deletion fails as an unreachable bucket's does."""

    async def delete(self, path: str) -> None:
        raise Transient(
            "Object storage could not be reached (ConnectError)", reason="media_store_unavailable"
        )

    async def open(self, path: str) -> StoredFile:  # pragma: no cover - never read here
        raise AssertionError(path)


def kept(path: str) -> bytes | None:
    """The file's bytes, or ``None`` once it is deleted."""
    return Path(path).read_bytes() if Path(path).exists() else None


async def entries(engine: AsyncEngine) -> dict[str, tuple[int, str, datetime]]:
    query = select(DELETIONS.c.path, DELETIONS.c.attempts, DELETIONS.c.reason, DELETIONS.c.next_attempt_at)
    async with engine.connect() as connection:
        return {str(p): (int(a), str(r), n) for p, a, r, n in await connection.execute(query)}


async def test_a_deletion_that_never_ran_is_done_by_the_job_once_its_first_wait_is_over(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    disk = DiskMediaFiles(tmp_path / "media")
    _, _, path = await disk.save(stream(b"a file whose rows were deleted"))
    async with engine.begin() as connection:
        await list_deletions(connection, [path, path])  # the process stops right after this commit
    listed_at = datetime.now(UTC)
    assert set(await entries(engine)) == {path}

    ctx = run_ctx(deps_over(engine, media_files=disk))
    assert await retry_media_deletions(ctx, now=listed_at) == {"deleted": 0, "failed": 0, "in_use": 0}
    assert kept(path)  # the deletion right after the commit gets its five minutes
    done = await retry_media_deletions(ctx, now=listed_at + timedelta(minutes=5, seconds=1))
    assert done == {"deleted": 1, "failed": 0, "in_use": 0}
    assert not kept(path)
    assert await entries(engine) == {}


async def test_a_rolled_back_transaction_lists_nothing(engine: AsyncEngine, tmp_path: Path) -> None:
    async with engine.connect() as connection:
        transaction = await connection.begin()
        await list_deletions(connection, [str(tmp_path / "ab" / "ab12")])
        await transaction.rollback()
    assert await entries(engine) == {}


async def test_a_failing_deletion_waits_twice_as_long_each_time_up_to_a_day_and_is_never_given_up(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    disk = DiskMediaFiles(tmp_path / "media")
    _, _, path = await disk.save(stream(b"the bucket is away"))
    async with engine.begin() as connection:
        await list_deletions(connection, [path])
    unreachable = Unreachable(tmp_path / "media")
    before = datetime.now(UTC)
    assert await delete_files(engine, unreachable, [path]) == 0
    attempts, reason, next_at = (await entries(engine))[path]
    assert (attempts, reason) == (1, "media_store_unavailable")
    assert before + timedelta(minutes=5) <= next_at <= datetime.now(UTC) + timedelta(minutes=5)
    waits = []  # minutes from each try to the next, as the entry says after it failed
    for _ in range(11):
        not_yet = await retry_deletions(engine, unreachable, next_at - timedelta(seconds=1))
        assert not_yet.as_dict() == {"deleted": 0, "failed": 0, "in_use": 0}
        tried_at = next_at
        assert (await retry_deletions(engine, unreachable, tried_at)).failed == 1
        attempts, reason, next_at = (await entries(engine))[path]
        waits.append((next_at - tried_at).total_seconds() / 60)
    assert attempts == 12 and reason == "media_store_unavailable"
    assert waits == [10, 20, 40, 80, 160, 320, 640, 1280, 1440, 1440, 1440]
    assert kept(path)

    assert (await retry_deletions(engine, disk, next_at)).deleted == 1  # the bucket is back
    assert not kept(path) and await entries(engine) == {}


async def test_a_file_stored_again_since_its_listing_stays_and_its_entry_goes(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    disk = DiskMediaFiles(tmp_path / "media")
    sha256, size, path = await disk.save(stream(b"the same photo, sent again"))
    async with engine.begin() as connection:
        await list_deletions(connection, [path])
        # The same bytes arrived again before the deletion ran: a new blob row names the same file.
        await connection.execute(insert(table_of(MediaBlob)).values(sha256=sha256, path=path, size=size))
    assert await delete_files(engine, disk, [path]) == 0
    assert kept(path) == b"the same photo, sent again"
    assert await entries(engine) == {}
    assert hashlib.sha256(kept(path)).hexdigest() == sha256


async def test_a_purge_whose_file_deletion_fails_leaves_the_file_listed_and_the_job_deletes_it(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    """The purge of a company lists its own attachment in the transaction that deletes its rows; the
    bucket is away when the purge deletes files, and the job deletes it once it is back."""
    media_dir = tmp_path / "media"
    shared_sha, shared_path = blob(media_dir, "shared")
    leaving = (await SqlCompanyStore(engine).upsert(100, name="leaving", api_domain="", timezone="UTC")).id
    await fill_every_table(engine, leaving, media_dir, shared_sha)
    staying = (await SqlCompanyStore(engine).upsert(200, name="staying", api_domain="", timezone="UTC")).id
    await fill_every_table(engine, staying, media_dir, shared_sha)  # it uses the shared file too
    own = media_dir / hashlib.sha256(f"own-{leaving}".encode()).hexdigest()[:2]
    [own_file] = [str(p) for p in own.iterdir()]
    await left_long_ago(engine, leaving)
    store = SqlInstallationStore(engine, SecretBox([Fernet.generate_key().decode()]))
    unreachable = Unreachable(media_dir)
    away = run_ctx(deps_over(engine, installations=store, data_retention_days=30, media_files=unreachable))
    assert await purge_uninstalled_companies(away, now=PURGE_NOW) == [leaving]
    assert kept(own_file) and set(await entries(engine)) == {own_file}

    back = run_ctx(deps_over(engine, installations=store, media_files=DiskMediaFiles(media_dir)))
    due = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    assert await retry_media_deletions(back, now=due) == {"deleted": 1, "failed": 0, "in_use": 0}
    assert not kept(own_file) and await entries(engine) == {}
    assert kept(str(shared_path))  # the staying company's file was never listed
