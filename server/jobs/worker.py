"""The arq worker (``wapipe worker``): a composition root that builds the jobs' dependencies (``JobDeps``)
from the settings and puts them in arq's ``ctx``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import Any

from arq.connections import RedisSettings
from arq.worker import Worker

from server.jobs.arq_queue import QUEUE_NAME, ArqQueue
from server.jobs.context import job_deps_for, job_timings, pipedrive_wiring
from server.jobs.deps import arq_redis, job_ctx
from server.jobs.functions import CRON_JOBS, FUNCTIONS, MAX_JOBS
from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.migrate import ensure_migrated
from server.transports import build_transports, cloud_http_client, upstream_http_client, waha_http_client
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
        transports = build_transports(settings, waha_http, cloud_http)
        await check_gateways(transports)
        deps = job_deps_for(
            engine,
            queue=ArqQueue(arq_redis(ctx), queue_name=QUEUE_NAME),
            kind="worker",
            transports=transports,
            pipedrive=pipedrive_wiring(settings, engine, pipedrive_http),
            timings=job_timings(settings),
        )
        ctx.update(job_ctx(deps))
        log.info("worker ready", extra={"runner": deps.runner_name})

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        while closers:
            await closers.pop()()

    return Worker(
        functions=FUNCTIONS,
        cron_jobs=CRON_JOBS,
        redis_settings=RedisSettings.from_dsn(settings.redis_url),
        queue_name=QUEUE_NAME,
        on_startup=on_startup,
        on_shutdown=on_shutdown,
        burst=burst,
        poll_delay=POLL_DELAY,
        max_jobs=MAX_JOBS,
        timezone=UTC,
        handle_signals=not burst,
    )


def run_worker(settings: Settings, *, burst: bool = False) -> None:
    build_worker(settings, burst=burst).run()
