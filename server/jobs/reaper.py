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
"""

from __future__ import annotations

import logging
from typing import Any

from redis.asyncio import Redis

from server.jobs.arq_queue import QUEUE_NAME
from server.jobs.deps import arq_redis, job_deps
from server.jobs.liveness import silent_before

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


async def reap_dead_workers(ctx: dict[str, Any]) -> int:
    """Free the jobs of every worker that stopped beating; how many jobs were freed."""
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
    return freed
