"""What the web process holds for its lifetime: engine, queue, one httpx client per upstream."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.clock import Clock, SystemClock, sleep_of
from server.domain.ports.queue import JobQueue
from server.domain.ports.storage import MediaFiles
from server.domain.ports.whatsapp import WhatsAppTransport
from server.jobs.arq_queue import ArqQueue
from server.jobs.context import PipedriveWiring, job_deps_for, job_timings, pipedrive_wiring, runner_name
from server.jobs.deps import job_ctx
from server.jobs.embedded_sessions import ClientFor, RunningHost, start_embedded_sessions
from server.jobs.functions import CRON_JOBS, FUNCTIONS, MAX_JOBS
from server.jobs.inprocess import InProcessQueue
from server.jobs.liveness import Liveness, start_liveness
from server.jobs.session_calls_redis import RedisSessionCalls
from server.media_store import open_media_files
from server.metrics.families import Metrics
from server.metrics.state import StateReaders
from server.settings import Settings, WhatsAppWeb
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.migrate import ensure_migrated
from server.storage.state_counts import SqlStateCounts
from server.transports import (
    build_transports,
    cloud_http_client,
    embedded_transport,
    upstream_http_client,
    waha_http_client,
)


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
    media: MediaFiles  # the attachments' files: on this machine's disk or in the bucket every process shares
    clock: Clock = field(default_factory=SystemClock)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    sessions: RunningHost | None = None  # the embedded sessions, when this process runs them
    metrics: Metrics = field(default_factory=Metrics)  # what this process counts
    state: StateReaders | None = None  # where /metrics reads the queue's depth, sessions and outbox


@dataclass(frozen=True)
class Upstreams:
    """The world outside the process: httpx transports to reach Pipedrive and WAHA through (``None`` means
    the network; tests and the demo pass the sandboxes' ``httpx.ASGITransport`` here) and the clock."""

    pipedrive: httpx.AsyncBaseTransport | None = None
    waha: httpx.AsyncBaseTransport | None = None
    cloud: httpx.AsyncBaseTransport | None = None  # Meta's Graph API, when the Cloud API is configured
    clock: Clock | None = None  # what the process reads the time from (tests pass a ControlledClock)
    # WhatsApp Web itself, for the embedded sessions (``None``: neonize; tests pass a stand-in)
    whatsapp_web: ClientFor | None = None


@contextlib.asynccontextmanager
async def open_resources(settings: Settings, upstreams: Upstreams | None = None) -> AsyncIterator[Resources]:
    """Open everything the web process needs; refuse to start on an unmigrated database."""
    upstreams = upstreams or Upstreams()
    clock = upstreams.clock or SystemClock()
    metrics = Metrics()
    engine = make_async_engine(settings.effective_database_url)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engine.dispose)
        await ensure_migrated(engine)
        pipedrive_http = await stack.enter_async_context(upstream_http_client(transport=upstreams.pipedrive))
        waha_http = await stack.enter_async_context(waha_http_client(settings, transport=upstreams.waha))
        media = await stack.enter_async_context(open_media_files(settings))
        cloud_http = cloud_http_client(settings, transport=upstreams.cloud)
        if cloud_http is not None:
            await stack.enter_async_context(cloud_http)
        arq_queue = ArqQueue.from_url(settings.redis_url) if settings.redis_url else None
        if arq_queue is not None:
            stack.push_async_callback(arq_queue.close)
        # the embedded sessions the workers run are reached through Redis
        relay = RedisSessionCalls(arq_queue.redis) if arq_queue is not None else None
        embedded = (
            embedded_transport(settings, engine, clock, relay)
            if settings.whatsapp is WhatsAppWeb.EMBEDDED
            else None
        )
        transports = build_transports(settings, waha_http, cloud_http, embedded=embedded)
        queue: ArqQueue | InProcessQueue
        if arq_queue is not None:
            queue = arq_queue
            # the workers' refresh lock: a token refresh here waits for theirs, and theirs for this one
            pipedrive = pipedrive_wiring(
                settings,
                engine,
                pipedrive_http,
                queue.redis,
                sleep=sleep_of(clock),
                metrics=metrics,
                media=media,
            )
            backend = "arq on Redis"
            sessions = None  # the workers run the embedded sessions
        else:
            pipedrive = pipedrive_wiring(
                settings, engine, pipedrive_http, sleep=sleep_of(clock), metrics=metrics, media=media
            )
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
                metrics=metrics,
            )
            ctx.update(job_ctx(deps))
            await queue.start()
            stack.push_async_callback(queue.stop)
            # Without Redis there are no workers: this process runs the embedded sessions too.
            sessions = start_embedded_sessions(settings, deps, client_for=upstreams.whatsapp_web)
            if sessions is not None:
                stack.push_async_callback(sessions.stop)
            backend = "in-process"
        # this process's own beat (the in-process job runner's too: they are one process)
        liveness = Liveness(
            SqlHeartbeatStore(engine),
            runner_name("web"),
            every=job_timings(settings).heartbeat_every,
            clock=clock,
        )
        stack.push_async_callback(start_liveness(liveness))
        counts = SqlStateCounts(engine)
        state = StateReaders(queue=queue.depth, sessions=counts.sessions, outbox=counts.outbox, now=clock.now)
        yield Resources(
            settings,
            engine,
            queue,
            backend,
            pipedrive_http,
            waha_http,
            transports,
            pipedrive,
            media,
            clock,
            sessions=sessions,
            metrics=metrics,
            state=state,
        )
