"""``/healthz`` for load balancers, ``/`` and ``/status`` for people: is the database and queue reachable,
and when each kind of job runner last beat (by host and process only on the settings page, for admins)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from importlib.metadata import version

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from panels.status import (
    CheckView,
    RunnerView,
    StatusView,
    render_status_fragment,
    render_status_page,
    runners_by_kind,
)
from server.domain.errors import WaPipeError
from server.jobs.liveness import silent_before
from server.media_store import bucket_probe
from server.storage.heartbeats import SqlHeartbeatStore
from server.storage.state_counts import reachable
from server.web.resources import Resources

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 3.0


async def _check(name: str, probe: asyncio.Future[object] | object) -> CheckView:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)  # type: ignore[arg-type]
    except Exception as error:
        log.warning("health check failed", extra={"check": name, "error": repr(error)})
        return CheckView(
            name, False, error.reason if isinstance(error, WaPipeError) else type(error).__name__
        )
    return CheckView(name, True)


async def run_checks(resources: Resources) -> tuple[CheckView, ...]:
    """The database, the queue, and the attachments' bucket when one is configured (``media``)."""
    probes = [_check("database", reachable(resources.engine)), _check("queue", resources.queue.ping())]
    bucket = bucket_probe(resources.media)
    if bucket is not None:
        probes.append(_check("media", bucket()))
    return tuple(await asyncio.gather(*probes))


def _resources(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


async def healthz(request: Request) -> Response:
    checks = await run_checks(_resources(request))
    failing = [check.name for check in checks if not check.ok]
    body: dict[str, object] = {
        "status": "failing" if failing else "ok",
        "checks": {check.name: check.detail for check in checks},
    }
    if failing:
        body["failing"] = failing
    return JSONResponse(body, status_code=503 if failing else 200, headers={"Cache-Control": "no-store"})


def _silent_before(resources: Resources) -> datetime:
    every = timedelta(seconds=resources.settings.heartbeat_every)
    return silent_before(resources.clock.now(), every)


async def workers_healthz(request: Request) -> Response:
    """For monitors of the job workers (not for a load balancer of the web processes): 503 unless a
    worker has beaten within three beats (``WAPIPE_HEARTBEAT_EVERY``). Without Redis the web process runs
    the jobs itself, and its own beat counts."""
    resources = _resources(request)
    kind = "worker" if resources.settings.redis_url else "web"
    try:
        seen = await asyncio.wait_for(SqlHeartbeatStore(resources.engine).last_seen(), CHECK_TIMEOUT_S)
    except Exception as error:
        log.warning("health check failed", extra={"check": "workers", "error": repr(error)})
        return JSONResponse(
            {"status": "failing", "failing": ["database"], "checks": {"database": type(error).__name__}},
            status_code=503,
            headers={"Cache-Control": "no-store"},
        )
    runners = runners_by_kind(seen, silent_before=_silent_before(resources))
    found = next((runner for runner in runners if runner.kind == kind), None)
    beating, silent = (found.count, found.silent) if found is not None else (0, 0)
    body: dict[str, object] = {
        "status": "ok" if beating else "failing",
        "beating": beating,
        "not_beating": silent,
    }
    if not beating:
        body["failing"] = ["workers"]
    return JSONResponse(body, status_code=200 if beating else 503, headers={"Cache-Control": "no-store"})


async def _status_view(resources: Resources) -> StatusView:
    checks = await run_checks(resources)
    runners: tuple[RunnerView, ...] = ()
    if all(check.ok for check in checks if check.name == "database"):
        seen = await SqlHeartbeatStore(resources.engine).last_seen()
        runners = runners_by_kind(seen, silent_before=_silent_before(resources))
    return StatusView(
        version=version("wapipe"),
        mode=resources.settings.mode.value,
        database_backend=resources.engine.dialect.name,
        queue_backend=resources.queue_backend,
        checks=checks,
        runners=runners,
        checked_at=datetime.now(UTC),
    )


async def status_page(request: Request) -> Response:
    return HTMLResponse(render_status_page(await _status_view(_resources(request))))


async def status_fragment(request: Request) -> Response:
    return HTMLResponse(render_status_fragment(await _status_view(_resources(request))))
