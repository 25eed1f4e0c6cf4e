"""A killed worker's jobs run again at once (``server.jobs.reaper``), on real Redis and arq's real worker.

The dead worker is what SIGKILL leaves: its job still in arq's queue, marked in progress for ten minutes,
listed in its running set, and its last beat long ago. A live worker's job, in progress the same way, is
left alone. arq's own worker then runs the freed job and only that one."""

from __future__ import annotations

from typing import Any

from arq.connections import RedisSettings, create_pool
from arq.worker import Worker, func

from server.domain.clock import ControlledClock
from server.jobs.arq_queue import QUEUE_NAME, ArqQueue
from server.jobs.context import job_deps_for
from server.jobs.deps import job_ctx
from server.jobs.reaper import job_tracking, reap_dead_workers
from server.storage.engine import make_async_engine

DEAD = "worker:lost-host:4242"
LIVE = "worker:other-host:4343"
THIS = "worker:this-host:1"
TEN_MINUTES_MS = 610_000  # arq's in-progress mark: the longest job timeout (600 s) plus 10 s


async def stamp(ctx: dict[str, Any], label: str) -> str:
    running = await ctx["redis"].smembers(f"wapipe:running:{THIS}")  # listed while it runs
    ctx["ran"].append((label, running))
    return label


async def test_a_dead_worker_s_job_runs_again_at_once_and_a_live_one_s_does_not(
    migrated_sqlite: str, redis_url: str
) -> None:
    engine = make_async_engine(migrated_sqlite)
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    clock = ControlledClock()
    try:
        deps = job_deps_for(engine, queue=ArqQueue(redis, queue_name=QUEUE_NAME), kind="worker", clock=clock)
        every = deps.timings.heartbeat_every
        for job_id, owner in (("dead-job", DEAD), ("live-job", LIVE)):
            await redis.enqueue_job("stamp", job_id, _job_id=job_id, _queue_name=QUEUE_NAME)
            await redis.psetex(f"arq:in-progress:{job_id}", TEN_MINUTES_MS, b"1")  # what arq set
            await redis.sadd(f"wapipe:running:{owner}", job_id)
        await deps.heartbeats.beat(DEAD, clock.now() - every * 4)  # silent for more than three beats
        await deps.heartbeats.beat(LIVE, clock.now() - every)

        assert await reap_dead_workers(job_ctx(deps) | {"redis": redis}) == 1
        assert await redis.exists("arq:in-progress:dead-job") == 0
        assert await redis.pttl("arq:in-progress:live-job") > TEN_MINUTES_MS - 60_000
        assert await redis.exists(f"wapipe:running:{DEAD}") == 0
        assert await reap_dead_workers(job_ctx(deps) | {"redis": redis}) == 0  # once is enough

        # The live worker finishes its job meanwhile (arq skips a job marked in progress anyway).
        await redis.zrem(QUEUE_NAME, "live-job")
        started, ended = job_tracking(THIS)
        worker = Worker(
            functions=[func(stamp, name="stamp")],
            redis_pool=redis,
            queue_name=QUEUE_NAME,
            burst=True,
            poll_delay=0.05,
            handle_signals=False,
            ctx={"ran": []},
            on_job_start=started,
            on_job_end=ended,
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        assert worker.ctx["ran"] == [("dead-job", {b"dead-job"})]  # run again, by a live worker
        assert await redis.smembers(f"wapipe:running:{THIS}") == set()  # and no longer listed once done
    finally:
        await redis.aclose()
        await engine.dispose()


async def test_a_job_marked_by_a_worker_killed_before_listing_it_runs_again_after_three_beats(
    migrated_sqlite: str, redis_url: str
) -> None:
    """arq marked the job in progress, and its worker died before ``on_job_start`` listed it: no running set
    names it. The reaper notes the orphan mark, leaves it for three beats (a live worker lists its job at
    once), then frees it; a mark a live worker lists stays."""
    engine = make_async_engine(migrated_sqlite)
    redis = await create_pool(RedisSettings.from_dsn(redis_url))
    clock = ControlledClock()
    try:
        deps = job_deps_for(engine, queue=ArqQueue(redis, queue_name=QUEUE_NAME), kind="worker", clock=clock)
        ctx = job_ctx(deps) | {"redis": redis}
        every = deps.timings.heartbeat_every
        for job_id in ("orphan-job", "listed-job"):
            await redis.enqueue_job("stamp", job_id, _job_id=job_id, _queue_name=QUEUE_NAME)
            await redis.psetex(f"arq:in-progress:{job_id}", TEN_MINUTES_MS, b"1")  # what arq set
        await redis.sadd(f"wapipe:running:{LIVE}", "listed-job")
        await deps.heartbeats.beat(LIVE, clock.now())

        assert await reap_dead_workers(ctx) == 0  # noted, not freed yet
        clock.advance((every * 3).total_seconds() - 1)
        assert await reap_dead_workers(ctx) == 0
        assert await redis.exists("arq:in-progress:orphan-job") == 1
        clock.advance(1)
        await deps.heartbeats.beat(LIVE, clock.now())
        assert await reap_dead_workers(ctx) == 1
        assert await redis.exists("arq:in-progress:orphan-job") == 0
        assert await redis.exists("arq:in-progress:listed-job") == 1
        assert await redis.exists("wapipe:orphan:orphan-job") == 0
    finally:
        await redis.aclose()
        await engine.dispose()
