"""The real job functions, run by both backends against a migrated database."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.jobs.context import job_deps_for
from server.jobs.deps import job_ctx
from server.jobs.functions import CRON_JOBS, FUNCTIONS, MAX_JOBS
from server.jobs.worker import build_worker
from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore
from tests.jobs.conftest import MakeHarness


async def test_heartbeat_cron_records_the_runner(make_harness: MakeHarness, migrated_sqlite: str) -> None:
    engine = make_async_engine(migrated_sqlite)
    try:
        ctx: dict[str, Any] = {}
        h = make_harness(FUNCTIONS, CRON_JOBS, ctx=ctx)
        deps = job_deps_for(engine, queue=h.queue, kind="test")
        ctx.update(job_ctx(deps))
        await h.run()
        seen = await SqlHeartbeatStore(engine).last_seen()
    finally:
        await engine.dispose()
    assert list(seen) == [deps.runner_name]


def test_the_arq_worker_picks_up_deferred_jobs_within_a_tenth_of_a_second_and_runs_many_at_once(
    make_settings: Callable[..., Settings], redis_url: str
) -> None:
    worker = build_worker(make_settings(redis_url=redis_url))
    assert worker.poll_delay_s == 0.1  # arq's default, 0.5 s, would delay every burst's sync
    assert worker.max_jobs == MAX_JOBS == 40
