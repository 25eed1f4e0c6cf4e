"""The job queue on Redis through arq, for production (``WAPIPE_REDIS_URL``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job, JobStatus
from redis.asyncio import ConnectionPool

QUEUE_NAME = "wapipe:queue"


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

    async def close(self) -> None:
        await self.redis.aclose()
