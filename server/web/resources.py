"""What the web process holds for its lifetime: engine, queue, one httpx client per upstream."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.clock import Clock, SystemClock
from server.domain.ports.queue import JobQueue
from server.domain.ports.whatsapp import WhatsAppTransport
from server.jobs.arq_queue import ArqQueue
from server.jobs.context import PipedriveWiring, job_deps_for, job_timings, pipedrive_wiring
from server.jobs.deps import job_ctx
from server.jobs.functions import CRON_JOBS, FUNCTIONS, MAX_JOBS
from server.jobs.inprocess import InProcessQueue
from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.migrate import ensure_migrated
from server.transports import build_transports, cloud_http_client, upstream_http_client, waha_http_client


@dataclass
class Resources:
    settings: Settings
    engine: AsyncEngine
    queue: JobQueue
    queue_backend: str
    pipedrive_http: httpx.AsyncClient
    waha_http: httpx.AsyncClient
    transports: dict[str, WhatsAppTransport]
    pipedrive: PipedriveWiring
    clock: Clock = field(default_factory=SystemClock)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class Upstreams:
    """The world outside the process: httpx transports to reach Pipedrive and WAHA through (``None`` means
    the network; tests and the demo pass the sandboxes' ``httpx.ASGITransport`` here) and the clock."""

    pipedrive: httpx.AsyncBaseTransport | None = None
    waha: httpx.AsyncBaseTransport | None = None
    cloud: httpx.AsyncBaseTransport | None = None  # Meta's Graph API, when the Cloud API is configured
    clock: Clock | None = None  # what the process reads the time from (tests pass a ControlledClock)


@contextlib.asynccontextmanager
async def open_resources(settings: Settings, upstreams: Upstreams | None = None) -> AsyncIterator[Resources]:
    """Open everything the web process needs; refuse to start on an unmigrated database."""
    upstreams = upstreams or Upstreams()
    clock = upstreams.clock or SystemClock()
    engine = make_async_engine(settings.effective_database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await ensure_migrated(engine)
        pipedrive_http = await stack.enter_async_context(upstream_http_client(transport=upstreams.pipedrive))
        waha_http = await stack.enter_async_context(waha_http_client(settings, transport=upstreams.waha))
        cloud_http = cloud_http_client(settings, transport=upstreams.cloud)
        if cloud_http is not None:
            await stack.enter_async_context(cloud_http)
        transports = build_transports(settings, waha_http, cloud_http)
        pipedrive = pipedrive_wiring(settings, engine, pipedrive_http)
        queue: ArqQueue | InProcessQueue
        if settings.redis_url:
            queue = ArqQueue.from_url(settings.redis_url)
            stack.push_async_callback(queue.close)
            backend = "arq on Redis"
        else:
            ctx: dict[str, Any] = {}  # the jobs' dependencies name the queue: filled in once it exists
            queue = InProcessQueue(
                FUNCTIONS, CRON_JOBS, ctx=ctx, max_jobs=MAX_JOBS, clock=clock, poll_delay=settings.job_poll
            )
            deps = job_deps_for(
                engine,
                queue=queue,
                kind="web",
                transports=transports,
                pipedrive=pipedrive,
                timings=job_timings(settings),
                clock=clock,
            )
            ctx.update(job_ctx(deps))
            await queue.start()
            stack.push_async_callback(queue.stop)
            backend = "in-process"
        yield Resources(
            settings, engine, queue, backend, pipedrive_http, waha_http, transports, pipedrive, clock
        )
