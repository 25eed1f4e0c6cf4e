"""The arq worker (``wapipe worker``): a composition root that builds the jobs' dependencies (``JobDeps``)
from the settings and puts them in arq's ``ctx``. With ``WAPIPE_METRICS_PORT`` it also listens for
Prometheus's scrapes and health checks on ``WAPIPE_METRICS_HOST`` (``server.metrics.listener``)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker

from server.domain.clock import Clock, SystemClock
from server.domain.ports.storage import MediaFiles
from server.jobs.arq_queue import QUEUE_NAME, ArqQueue
from server.jobs.context import job_deps_for, job_timings, pipedrive_wiring, runner_name
from server.jobs.deps import arq_redis, job_ctx
from server.jobs.embedded_sessions import start_embedded_sessions
from server.jobs.functions import CRON_JOBS, FUNCTIONS, MAX_JOBS, WORKER_CRON_JOBS
from server.jobs.liveness import Liveness, start_liveness
from server.jobs.reaper import job_tracking
from server.jobs.session_calls_redis import RedisSessionCalls
from server.jobs.worker_health import worker_health
from server.media_store import bucket_probe, open_media_files
from server.metrics.exposition import scrape
from server.metrics.families import Metrics
from server.metrics.listener import Answer, MetricsListener
from server.metrics.state import StateReaders
from server.settings import Settings, WhatsAppWeb
from server.storage.engine import Database, make_async_engine
from server.storage.migrate import ensure_migrated
from server.storage.state_counts import SqlStateCounts
from server.transports import (
    build_transports,
    cloud_http_client,
    embedded_transport,
    upstream_http_client,
    waha_http_client,
)
from server.whatsapp.gateway_check import check_gateways

log = logging.getLogger(__name__)

# arq looks for due jobs every ``poll_delay``; its default, 0.5 s, would add up to half a second to every
# deferred sync.
POLL_DELAY = 0.1


def build_worker(settings: Settings, *, burst: bool = False) -> Worker:
    if not settings.redis_url:
        raise SystemExit(
            "wapipe worker needs WAPIPE_REDIS_URL "
            "(without it, jobs run inside `wapipe serve` or `wapipe demo`)"
        )

    closers: list[Callable[[], Awaitable[None]]] = []  # what on_shutdown closes, last opened first
    # The jobs this worker runs, for reap_dead_workers (the name its deps and heartbeats use: this process's).
    job_started, job_ended = job_tracking(runner_name("worker"))

    async def on_startup(ctx: dict[str, Any]) -> None:
        engine = make_async_engine(settings.effective_database_url)
        closers.append(engine.dispose)
        await ensure_migrated(engine)
        waha_http = waha_http_client(settings)
        pipedrive_http = upstream_http_client()
        cloud_http = cloud_http_client(settings)
        closers.extend(
            client.aclose for client in (waha_http, pipedrive_http, cloud_http) if client is not None
        )
        media_stack = contextlib.AsyncExitStack()
        closers.append(media_stack.aclose)
        media = await media_stack.enter_async_context(open_media_files(settings))
        clock = SystemClock()
        relay = RedisSessionCalls(arq_redis(ctx))  # the embedded sessions other workers run
        embedded = (
            embedded_transport(settings, engine, clock, relay)
            if settings.whatsapp is WhatsAppWeb.EMBEDDED
            else None
        )
        transports = build_transports(settings, waha_http, cloud_http, embedded=embedded)
        await check_gateways(transports)
        metrics = Metrics()
        queue = ArqQueue(arq_redis(ctx), queue_name=QUEUE_NAME)
        deps = job_deps_for(
            engine,
            queue=queue,
            kind="worker",
            transports=transports,
            pipedrive=pipedrive_wiring(
                settings, engine, pipedrive_http, arq_redis(ctx), metrics=metrics, media=media
            ),
            timings=job_timings(settings),
            clock=clock,
            metrics=metrics,
        )
        ctx.update(job_ctx(deps))
        liveness = Liveness(
            deps.heartbeats, deps.runner_name, every=deps.timings.heartbeat_every, clock=clock
        )
        closers.append(start_liveness(liveness))  # stopped before the database closes: it leaves the list
        if settings.metrics_port is not None:
            listener = await open_listener(settings, metrics, engine, queue, liveness, clock, media)
            closers.append(listener.stop)
        sessions = start_embedded_sessions(settings, deps, arq_redis(ctx), relay=relay)
        if sessions is not None:
            closers.append(sessions.stop)  # the first closed: sessions stop while the database is still open
        log.info("worker ready", extra={"runner": deps.runner_name})

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        while closers:
            await closers.pop()()

    return Worker(
        functions=FUNCTIONS,
        cron_jobs=[*CRON_JOBS, *WORKER_CRON_JOBS],
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=QUEUE_NAME,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        on_job_start=job_started,
        on_job_end=job_ended,
        burst=burst,
        poll_delay=POLL_DELAY,
        max_jobs=MAX_JOBS,
        timezone=UTC,
        handle_signals=not burst,
    )


async def open_listener(
    settings: Settings,
    metrics: Metrics,
    engine: Database,
    queue: ArqQueue,
    liveness: Liveness,
    clock: Clock,
    media: MediaFiles,
) -> MetricsListener:
    """The worker's metrics and health listener on ``WAPIPE_METRICS_HOST:WAPIPE_METRICS_PORT``; a port
    that cannot be opened stops the worker's start, naming the setting."""
    assert settings.metrics_port is not None
    counts = SqlStateCounts(engine)
    readers = StateReaders(queue=queue.depth, sessions=counts.sessions, outbox=counts.outbox, now=clock.now)

    async def metrics_text() -> bytes:
        return await scrape(metrics, readers)

    async def health() -> Answer:
        return await worker_health(engine, queue.redis, liveness, bucket_probe(media))

    listener = MetricsListener(
        token=settings.metrics_token.get_secret_value(), metrics=metrics_text, health=health
    )
    try:
        await listener.start(settings.metrics_host, settings.metrics_port)
    except OSError as error:
        raise RuntimeError(
            f"WAPIPE_METRICS_PORT {settings.metrics_port} cannot be opened on WAPIPE_METRICS_HOST "
            f"{settings.metrics_host}: {error.strerror or error}; give each worker on a host its own port"
        ) from error
    log.info(
        "metrics listener ready",
        extra={"host": settings.metrics_host, "port": listener.port, "runner": liveness.name},
    )
    return listener


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    build_worker(settings, burst=burst).run()
