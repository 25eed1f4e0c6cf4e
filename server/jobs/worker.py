"""The arq worker (``wapipe worker``): a composition root that wires settings into job context."""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

import httpx
from arq.connections import RedisSettings
from arq.worker import Worker

from server.jobs.arq_queue import QUEUE_NAME, ArqQueue
from server.jobs.context import job_context, pipedrive_wiring, timing_entries
from server.jobs.functions import CRON_JOBS, FUNCTIONS, MAX_JOBS
from server.settings import Settings
from server.storage.engine import make_async_engine
from server.storage.migrate import ensure_migrated
from server.transports import UPSTREAM_TIMEOUT, build_transports, cloud_http_client, waha_http_client
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

    async def on_startup(ctx: dict[str, Any]) -> None:
        engine = make_async_engine(settings.effective_database_url)
        await ensure_migrated(engine)
        waha_http = waha_http_client(settings)
        pipedrive_http = httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT, headers={"User-Agent": "WaPipe"})
        cloud_http = cloud_http_client(settings)
        transports = build_transports(settings, waha_http, cloud_http)
        await check_gateways(transports)
        ctx.update(job_context(engine, kind="worker", transports=transports))
        ctx.update(pipedrive_wiring(settings, engine, pipedrive_http).job_entries())
        ctx.update(timing_entries(settings))
        ctx["waha_http"] = waha_http
        ctx["pipedrive_http"] = pipedrive_http
        if cloud_http is not None:
            ctx["cloud_http"] = cloud_http
        ctx["queue"] = ArqQueue(ctx["redis"], queue_name=QUEUE_NAME)
        log.info("worker ready", extra={"runner": ctx["runner_name"]})

    async def on_shutdown(ctx: dict[str, Any]) -> None:
        for client in ("waha_http", "pipedrive_http", "cloud_http"):
            if client in ctx:
                await ctx[client].aclose()
        if "engine" in ctx:
            await ctx["engine"].dispose()

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
