"""What the web process holds for its lifetime: engine, queue, one httpx client per upstream."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.ports import JobQueue
from server.jobs.arq_queue import ArqQueue
from server.jobs.context import job_context
from server.jobs.functions import CRON_JOBS, FUNCTIONS
from server.jobs.inprocess import InProcessQueue
from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.migrate import ensure_migrated

# Explicit timeouts for every upstream: connect fast, allow slower reads (media, large lists).
UPSTREAM_TIMEOUT = httpx.Timeout(30.0, connect=5.0)


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    queue: JobQueue
    queue_backend: str
    pipedrive_http: httpx.AsyncClient
    waha_http: httpx.AsyncClient
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@contextlib.asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[Resources]:
    """Open everything the web process needs; refuse to start on an unmigrated database."""
    engine = make_async_engine(settings.effective_database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await ensure_migrated(engine)
        queue: ArqQueue | InProcessQueue
        if settings.redis_url:
            queue = ArqQueue.from_url(settings.redis_url)
            stack.push_async_callback(queue.close)
            backend = "arq on Redis"
        else:
            queue = InProcessQueue(FUNCTIONS, CRON_JOBS, ctx=job_context(engine, kind="web"))
            await queue.start()
            stack.push_async_callback(queue.stop)
            backend = "in-process"
        pipedrive_http = await stack.enter_async_context(
            httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, headers={"User-Agent": "WaPipe"})
        )
        waha_http = await stack.enter_async_context(
            httpx.AsyncClient(
                base_url=settings.waha_url,
                timeout=UPSTREAM_TIMEOUT,
                headers={"User-Agent": "WaPipe", "X-Api-Key": settings.waha_api_key.get_secret_value()},
            )
        )
        yield Resources(settings, engine, queue, backend, pipedrive_http, waha_http)
