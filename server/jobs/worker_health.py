"""A worker's own health, for its listener's ``GET /healthz`` (``WAPIPE_METRICS_PORT``): 200 when the
database and Redis answer and this worker recorded a beat within three beats (``WAPIPE_HEARTBEAT_EVERY``),
else 503 naming what fails (``database``, ``redis``, ``heartbeat``), as the web process's ``/healthz`` does.
A worker whose loop is stuck answers nothing at all, which a monitor counts as failing too."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from server.domain.errors import WaPipeError
from server.jobs.liveness import Liveness
from server.metrics.listener import Answer, json_answer
from server.storage.engine import Database
from server.storage.state_counts import reachable

log = logging.getLogger(__name__)

CHECK_TIMEOUT_S = 3.0


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> str:
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_S)
    except Exception as error:
        log.warning("health check failed", extra={"check": name, "error": repr(error)})
        return error.reason if isinstance(error, WaPipeError) else type(error).__name__
    return "ok"


async def _beating(liveness: Liveness) -> None:
    if not liveness.beating():
        raise _NotBeating


class _NotBeating(Exception):
    """This worker has not recorded a beat within three beats."""


async def worker_health(
    engine: Database, redis: Redis, liveness: Liveness, bucket: Callable[[], Awaitable[None]] | None = None
) -> Answer:
    """``bucket``: the attachments' bucket's probe when one is configured (checked as ``media``)."""
    probes: dict[str, Callable[[], Awaitable[object]]] = {
        "database": lambda: reachable(engine),
        "redis": redis.ping,
        "heartbeat": lambda: _beating(liveness),
    }
    if bucket is not None:
        probes["media"] = bucket
    details = await asyncio.gather(*(_check(name, probe) for name, probe in probes.items()))
    checks = dict(zip(probes, details, strict=True))
    if checks["heartbeat"] != "ok":
        checks["heartbeat"] = "not_beating"
    failing = [name for name, detail in checks.items() if detail != "ok"]
    body: dict[str, object] = {"status": "failing" if failing else "ok", "checks": checks}
    if failing:
        body["failing"] = failing
    return json_answer(503 if failing else 200, body)
