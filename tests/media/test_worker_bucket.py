"""``wapipe worker`` keeps attachments in the bucket its settings name: the jobs' store, and the inbox's
(which deletes a deleted message's file), are that bucket, opened when the worker starts and closed when it
stops."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from arq.connections import RedisSettings, create_pool

from server.jobs.deps import job_deps
from server.jobs.worker import build_worker
from server.settings import Settings
from tests.media.s3_server import S3Server
from tests.media.test_media_files import stream
from tests.media.test_shared_bucket import PREFIX, bucket_settings


async def test_the_worker_keeps_attachments_in_the_bucket(
    make_settings: Callable[..., Settings], redis_url: str, migrated_sqlite: str, s3_server: S3Server
) -> None:
    bucket = s3_server.new_bucket()
    settings = make_settings(
        redis_url=redis_url, database_url=migrated_sqlite, **bucket_settings(s3_server, bucket)
    )
    worker = build_worker(settings, burst=True)
    ctx: dict[str, Any] = {"redis": await create_pool(RedisSettings.from_dsn(redis_url))}
    try:
        assert worker.on_startup is not None and worker.on_shutdown is not None
        await worker.on_startup(ctx)
        deps = job_deps(ctx)
        assert deps.media_files is not None
        sha256, _, _ = await deps.media_files.save(stream(b"a worker's download"))
        assert s3_server.objects(bucket) == {f"{PREFIX}{sha256[:2]}/{sha256}": b"a worker's download"}
        assert sha256 == hashlib.sha256(b"a worker's download").hexdigest()
        assert deps.inbox._files is deps.media_files  # a deleted message's file goes from the bucket too
        await worker.on_shutdown(ctx)
    finally:
        await ctx["redis"].aclose()  # arq's worker took this test's event loop: pytest closes it
    assert not (settings.media_dir).exists()
