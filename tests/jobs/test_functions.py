"""The real job functions, run by both backends against a migrated database."""

from __future__ import annotations

from server.jobs.context import job_context
from server.jobs.functions import CRON_JOBS, FUNCTIONS
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore
from tests.jobs.conftest import MakeHarness


async def test_heartbeat_cron_records_the_runner(make_harness: MakeHarness, migrated_sqlite: str) -> None:
    engine = make_async_engine(migrated_sqlite)
    try:
        ctx = job_context(engine, kind="test")
        h = make_harness(FUNCTIONS, CRON_JOBS, ctx=ctx)
        await h.run()
        seen = await SqlHeartbeatStore(engine).last_seen()
    finally:
        await engine.dispose()
    assert list(seen) == [ctx["runner_name"]]
