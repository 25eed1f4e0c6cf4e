"""The job queue on Redis through arq, for production (``WAPIPE_REDIS_URL``)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix, job_key_prefix
from arq.jobs import Job, JobStatus, deserialize_job
from redis.asyncio import ConnectionPool

from server.metrics.state import DEFERRED, DUE, OTHER, RUNNING, QueueDepth

QUEUE_NAME = "wapipe:queue"
# How many of the queue's jobs a look at its depth reads one by one (the most overdue first); the rest are
# counted by state only, under the job "other". Each read is one small GET in a pipeline.
DEPTH_READ = 5000


class ArqQueue:
    def __init__(self, redis: ArqRedis, *, queue_name: str = QUEUE_NAME) -> None:
        self.redis = redis
        self.queue_name = queue_name

    @classmethod
    def from_url(cls, redis_url: str, *, queue_name: str = QUEUE_NAME) -> ArqQueue:
        """Connects lazily, so the web process starts (and /healthz reports) while Redis is down."""
        pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=2, socket_timeout=5)
        return cls(ArqRedis(connection_pool=pool, default_queue_name=queue_name), queue_name=queue_name)

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        job = await self.redis.enqueue_job(
            function, *args, _job_id=job_id, _defer_by=defer_by, _queue_name=self.queue_name
        )
        return job is not None

    async def ping(self) -> None:
        await self.redis.ping()

    async def is_running(self, job_id: str) -> bool:
        status = await Job(job_id, self.redis, _queue_name=self.queue_name).status()
        return status is JobStatus.in_progress

    async def depth(self, now: datetime) -> QueueDepth:
        """The jobs on the queue at ``now`` by function and state. arq keeps a running job on the queue
        until it finishes: it counts as ``running``, not ``due``."""
        now_ms = now.timestamp() * 1000
        read = await self.redis.zrange(self.queue_name, 0, DEPTH_READ - 1, withscores=True)
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id, _ in read:
                pipe.get(job_key_prefix + _text(job_id))
                pipe.exists(in_progress_key_prefix + _text(job_id))
            pipe.zcount(self.queue_name, "-inf", now_ms)
            pipe.zcard(self.queue_name)
            answers = await pipe.execute()
        due_total, total = int(answers[-2]), int(answers[-1])
        jobs: Counter[tuple[str, str]] = Counter()
        oldest_due: float | None = None
        due_read = 0
        for index, (_, score) in enumerate(read):
            function = _function(answers[2 * index])
            if score <= now_ms:
                due_read += 1
                if answers[2 * index + 1]:
                    jobs[(function, RUNNING)] += 1
                    continue
                oldest_due = score if oldest_due is None else min(oldest_due, score)
                jobs[(function, DUE)] += 1
            else:
                jobs[(function, DEFERRED)] += 1
        if due_total > due_read:
            jobs[(OTHER, DUE)] += due_total - due_read
        deferred_unread = total - due_total - (len(read) - due_read)
        if deferred_unread > 0:
            jobs[(OTHER, DEFERRED)] += deferred_unread
        waited = 0.0 if oldest_due is None else max(0.0, (now_ms - oldest_due) / 1000)
        return QueueDepth(dict(jobs), waited)

    async def close(self) -> None:
        await self.redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _function(stored: bytes | None) -> str:
    """The function of a stored job (``other`` when it is gone or unreadable)."""
    if stored is None:
        return OTHER
    try:
        return str(deserialize_job(stored).function)
    except Exception:  # a job arq itself could not run either; it is counted, not named
        return OTHER
