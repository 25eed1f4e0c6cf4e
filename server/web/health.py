"""``/healthz`` for load balancers, ``/`` and ``/status`` for people: is the database and queue reachable,
and when each kind of job runner last beat (by host and process only on the settings page, for admins)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from importlib.metadata import version

from sqlalchemy import text
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
from server.storage.heartbeats import SqlHeartbeatStore
from server.web.resources import Resources

log = logging.getLogger(__name__)
CHECK_TIMEOUT_S = 3.0


async def _check(name: str, probe: asyncio.Future[object] | object) -> CheckView:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_S)  # type: ignore[arg-type]
    except Exception as error:
        log.warning("health check failed", extra={"check": name, "error": repr(error)})
        return CheckView(name, False, type(error).__name__)
    return CheckView(name, True)


async def _database_probe(resources: Resources) -> None:
    async with resources.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def run_checks(resources: Resources) -> tuple[CheckView, ...]:
    return tuple(
        await asyncio.gather(
            _check("database", _database_probe(resources)),
            _check("queue", resources.queue.ping()),
        )
    )


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


async def _status_view(resources: Resources) -> StatusView:
    checks = await run_checks(resources)
    runners: tuple[RunnerView, ...] = ()
    if all(check.ok for check in checks if check.name == "database"):
        runners = runners_by_kind(await SqlHeartbeatStore(resources.engine).last_seen())
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
