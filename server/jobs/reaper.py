"""A killed worker's jobs run again within seconds, not after arq's in-progress timeout.

arq marks a job it starts as in progress (``arq:in-progress:<job id>``) for the longest job timeout plus
10 s (610 s here), and leaves the job in the queue until it finishes. A worker killed mid-job (SIGKILL, a
lost machine) leaves both behind: nobody may run that job, or queue another under its id, for ten minutes.

So each worker keeps the ids of the jobs it is running in a Redis set of its own
(``wapipe:running:<runner name>``, from arq's ``on_job_start``/``on_job_end``), and ``reap_dead_workers``
(cron, every 5 s, on whichever worker) looks for workers whose liveness beat stopped
(``server.jobs.liveness``: ``SILENT_AFTER_BEATS`` beats missed): it takes their jobs' in-progress marks
away, so arq starts them again at once on a live worker, as their next try. Every job is written to be run
again (leases, write intents, the outbox's states), which is what arq's own timeout relies on too.

A worker killed between arq's in-progress mark and ``on_job_start`` (arq takes a batch of jobs at once, so
the window is a few Redis round trips per job) leaves a mark no running set lists. The reaper notes each
such orphan mark of a queued job when it first sees it (``wapipe:orphan:<job id>``, with the time) and
frees it once it has stayed unlisted for as long as a worker takes to count as dead: a live worker lists
its job within milliseconds of marking it.
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis

from server.jobs.arq_queue import QUEUE_NAME
from server.jobs.deps import arq_redis, job_deps
from server.jobs.liveness import SILENT_AFTER_BEATS, silent_before

log = logging.getLogger(__name__)

RUNNING_PREFIX = "wapipe:running:"
IN_PROGRESS_PREFIX = "arq:in-progress:"  # arq.constants.in_progress_key_prefix

# The dead worker's jobs still queued lose their in-progress mark; a job that finished meanwhile (no longer
# in the queue) is left alone. Returns how many were freed.
_FREE = """
local freed = 0
for _, job_id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    if redis.call('ZSCORE', KEYS[2], job_id) then
        freed = freed + redis.call('DEL', ARGV[1] .. job_id)
    end
end
redis.call('DEL', KEYS[1])
return freed
"""


ORPHAN_PREFIX = "wapipe:orphan:"

# KEYS: the queue, then every worker's running set; ARGV: the in-progress prefix, the orphan prefix, now
# (ms), the grace (ms), then the job ids marked in progress. A mark listed in a running set is no orphan;
# an unlisted one of a queued job is noted, and freed once noted for the grace. Returns how many were freed.
_FREE_ORPHANS = """
local freed = 0
local now, grace = tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 5, #ARGV do
    local job_id = ARGV[i]
    local listed = false
    for k = 2, #KEYS do
        if redis.call('SISMEMBER', KEYS[k], job_id) == 1 then listed = true break end
    end
    local note = ARGV[2] .. job_id
    local queued = redis.call('ZSCORE', KEYS[1], job_id)
    if listed or not queued or redis.call('EXISTS', ARGV[1] .. job_id) == 0 then
        redis.call('DEL', note)
    else
        local seen = tonumber(redis.call('GET', note))
        if not seen then
            redis.call('SET', note, now, 'PX', grace * 10)
        elseif now - seen >= grace then
            freed = freed + redis.call('DEL', ARGV[1] .. job_id)
            redis.call('DEL', note)
        end
    end
end
return freed
"""


def running_key(runner: str) -> str:
    return RUNNING_PREFIX + runner


def job_tracking(runner: str) -> tuple[Any, Any]:
    """arq's ``on_job_start`` and ``on_job_end`` for the worker ``runner``: its running jobs' ids."""

    async def started(ctx: dict[str, Any]) -> None:
        await arq_redis(ctx).sadd(running_key(runner), ctx["job_id"])  # type: ignore[misc]

    async def ended(ctx: dict[str, Any]) -> None:
        await arq_redis(ctx).srem(running_key(runner), ctx["job_id"])  # type: ignore[misc]

    return started, ended


async def free_jobs_of(redis: Redis, runner: str, queue_name: str) -> int:
    """Take the in-progress marks of ``runner``'s queued jobs away (it is dead); forget its set."""
    freed = await redis.eval(_FREE, 2, running_key(runner), queue_name, IN_PROGRESS_PREFIX)  # type: ignore[misc]
    return int(freed)


async def free_orphan_marks(redis: Redis, queue_name: str, *, now_ms: int, grace_ms: int) -> int:
    """Free the in-progress marks of queued jobs that no worker has listed for ``grace_ms``; how many."""
    marks = [key.decode() async for key in redis.scan_iter(match=f"{IN_PROGRESS_PREFIX}*", count=500)]
    if not marks:
        return 0
    sets = [key.decode() async for key in redis.scan_iter(match=f"{RUNNING_PREFIX}*", count=500)]
    job_ids = [mark.removeprefix(IN_PROGRESS_PREFIX) for mark in marks]
    keys = [queue_name, *sets]
    args = [IN_PROGRESS_PREFIX, ORPHAN_PREFIX, str(now_ms), str(grace_ms), *job_ids]
    freed = await redis.eval(_FREE_ORPHANS, len(keys), *keys, *args)  # type: ignore[misc]
    return int(freed)


async def reap_dead_workers(ctx: dict[str, Any]) -> int:
    """Free the jobs of every worker that stopped beating, and the orphan marks of jobs a worker marked
    but died before listing; how many jobs were freed."""
    deps = job_deps(ctx)
    redis = arq_redis(ctx)
    silent = silent_before(deps.clock.now(), deps.timings.heartbeat_every)
    freed = 0
    for runner, last in (await deps.heartbeats.last_seen()).items():
        if not runner.startswith("worker:") or last >= silent:
            continue
        jobs = await free_jobs_of(redis, runner, QUEUE_NAME)
        if jobs:
            log.warning("%s jobs of the dead worker %s run again", jobs, runner)
        freed += jobs
    grace = deps.timings.heartbeat_every * SILENT_AFTER_BEATS
    now_ms = int(deps.clock.now().timestamp() * 1000)
    orphans = await free_orphan_marks(
        redis, QUEUE_NAME, now_ms=now_ms, grace_ms=int(grace.total_seconds() * 1000)
    )
    if orphans:
        log.warning("%s jobs marked in progress by a worker that died before listing them run again", orphans)
    return freed + orphans
