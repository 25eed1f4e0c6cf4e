"""Attachment files to delete, kept in the database until they are gone (``media_deletion``).

- **Listed with the rows.** A transaction that deletes the last rows naming a stored file (retention,
  erasure, the purge of a company, a message deleted in WhatsApp) lists the file here in the same
  transaction (``list_deletions``): a rolled-back transaction lists nothing, a committed one cannot lose
  the file's deletion.
- **Deleted after the commit.** ``delete_files`` then deletes each file through the store that keeps it
  (the disk or the bucket) and drops its entry.
- **Tried again until done.** A file whose deletion failed (the bucket unreachable or refusing) keeps its
  entry with the reason and the time of its next try, and so does one never tried (the process stopped
  after the commit). ``retry_deletions`` (the ``retry_media_deletions`` job) tries again, waiting twice as
  long after each failure, up to a day, and never gives up: an erased contact's attachment must not stay.
- **In use again.** Files are named by their content hash: when the same attachment arrived again after
  the deletion was listed, its file is in use again; its entry goes and the file stays.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from server.domain.errors import WaPipeError
from server.domain.ports.storage import MediaFiles
from server.storage.dialect import upsert_insert
from server.storage.media import DiskMediaFiles
from server.storage.tables import MediaBlob, MediaDeletionRow, table_of, utcnow

log = logging.getLogger(__name__)

_deletions = table_of(MediaDeletionRow)
_blobs = table_of(MediaBlob)

FIRST_TRY_AFTER = timedelta(minutes=5)  # an entry waits this long for the deletion right after its commit
RETRY_BASE = timedelta(minutes=5)  # after the first failure; doubled after each further one
RETRY_CAP = timedelta(days=1)
RETRY_BATCH = 200  # entries one run of the job tries at most


def retry_wait(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failed try a file's deletion is tried again."""
    doubled: timedelta = RETRY_BASE * 2 ** min(max(attempts - 1, 0), 20)
    return min(doubled, RETRY_CAP)


@dataclass
class RetryOutcome:
    deleted: int = 0
    failed: int = 0
    in_use: int = 0  # stored again since: kept

    def as_dict(self) -> dict[str, int]:
        return {"deleted": self.deleted, "failed": self.failed, "in_use": self.in_use}


async def list_deletions(connection: AsyncConnection, paths: Iterable[str]) -> None:
    """List ``paths`` for deletion in the caller's transaction; a path listed already keeps its entry."""
    rows = [{"path": p, "next_attempt_at": utcnow() + FIRST_TRY_AFTER} for p in dict.fromkeys(paths) if p]
    if rows:
        insert: Any = upsert_insert(connection.engine, _deletions)
        await connection.execute(insert.values(rows).on_conflict_do_nothing(index_elements=["path"]))


async def delete_files(engine: AsyncEngine, files: MediaFiles | None, paths: Iterable[str]) -> int:
    """After the commit that listed them: delete the files through the store that keeps them (``None``:
    this machine's disk, by path); how many were deleted. A failure is logged by the path, which holds
    only the content hash, and left listed for ``retry_deletions``; the others still go."""
    store = files or DiskMediaFiles(Path())
    now = utcnow()
    removed = 0
    for path in dict.fromkeys(paths):
        removed += await _delete(engine, store, path, now) == "deleted"
    return removed


async def retry_deletions(
    engine: AsyncEngine, files: MediaFiles | None, now: datetime, *, limit: int = RETRY_BATCH
) -> RetryOutcome:
    """Try again each listed file whose next try is due at ``now``, the longest waiting first."""
    store = files or DiskMediaFiles(Path())
    due = (
        select(_deletions.c.path)
        .where(_deletions.c.next_attempt_at <= now)
        .order_by(_deletions.c.next_attempt_at, _deletions.c.path)
        .limit(limit)
    )
    async with engine.connect() as connection:
        paths = [str(p) for p in (await connection.execute(due)).scalars()]
    outcome = RetryOutcome()
    for path in paths:
        result = await _delete(engine, store, path, now)
        setattr(outcome, result, getattr(outcome, result) + 1)
    return outcome


async def _delete(engine: AsyncEngine, store: MediaFiles, path: str, now: datetime) -> str:
    """``deleted``, ``failed`` or ``in_use``."""
    sha256 = path.rsplit("/", 1)[-1]  # a file's name is its hash, on disk and in the bucket
    async with engine.connect() as connection:
        stored_again = (
            await connection.execute(select(_blobs.c.path).where(_blobs.c.sha256 == sha256))
        ).first()
    if stored_again is not None:
        await _forget(engine, path)
        return "in_use"
    try:
        await store.delete(path)
    except WaPipeError as error:
        attempts = await _failed(engine, path, error.reason, now)
        wait = retry_wait(attempts).total_seconds()
        extra = {"path": path, "reason": error.reason, "attempts": attempts, "retry_in_s": wait}
        log.error("attachment file not deleted", extra=extra)
        return "failed"
    await _forget(engine, path)
    return "deleted"


async def _forget(engine: AsyncEngine, path: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(delete(_deletions).where(_deletions.c.path == path))


async def _failed(engine: AsyncEngine, path: str, reason: str, now: datetime) -> int:
    """Count the failed try and set the next; a path never listed (a caller that listed nothing) is listed
    now. How many tries failed."""
    async with engine.begin() as connection:
        found = (
            await connection.execute(select(_deletions.c.attempts).where(_deletions.c.path == path))
        ).scalar()
        attempts = int(found or 0) + 1
        values = {"attempts": attempts, "reason": reason[:64], "next_attempt_at": now + retry_wait(attempts)}
        if found is None:
            insert: Any = upsert_insert(connection.engine, _deletions)
            listed = insert.values(path=path, listed_at=now, **values)
            await connection.execute(listed.on_conflict_do_nothing(index_elements=["path"]))
        else:
            await connection.execute(update(_deletions).where(_deletions.c.path == path).values(**values))
    return attempts
