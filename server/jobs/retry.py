"""Retrying on purpose: exponential backoff with jitter, honouring an upstream's Retry-After; and every
queued job's retry of a busy database (``retried_when_busy``), the same on arq and the in-process runner."""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from arq.typing import WorkerCoroutine
from arq.worker import Retry

from server.domain.errors import StorageBusy, Transient
from server.jobs.deps import job_deps, job_id, job_try

log = logging.getLogger(__name__)

JobFunction = Callable[..., Awaitable[Any]]


def backoff_seconds(job_try: int, *, base: float = 2.0, cap: float = 300.0) -> float:
    """base·2^(try-1), capped, with up to 25 % jitter so retries of many jobs spread out."""
    delay: float = min(cap, base * 2.0 ** max(0, job_try - 1))
    return delay * (1 + random.random() * 0.25)  # noqa: S311  (jitter, not security)


def retry_for(ctx: dict[str, Any], error: Transient | None = None, *, base: float | None = None) -> Retry:
    """The ``Retry`` to raise from a job after a transient failure on this try (``job_try``; ``base``: the
    first delay, by default the settings' retry base)."""
    first = job_deps(ctx).timings.retry_base.total_seconds() if base is None else base
    delay = backoff_seconds(job_try(ctx), base=first)
    if error is not None and error.retry_after is not None:
        delay = max(delay, error.retry_after)
    return Retry(defer=delay)


def retried_when_busy(job: JobFunction) -> WorkerCoroutine:
    """``job`` with a busy database that escapes it (``StorageBusy``: a lock wait ran out, no pooled
    connection came in time, a lost connection) turned into a retry with backoff (``retry_for``: from
    ``JobTimings.retry_base``, doubling per try). arq and the in-process runner both re-queue a ``Retry``
    under the same job id until the function's ``max_tries``; left as it is, the error would fail the job
    on both, and its id would stay taken for as long as its result is kept."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return await job(ctx, *args, **kwargs)
        except StorageBusy as error:
            log.info("job %s (try %d) will retry: the database is busy", job_id(ctx), job_try(ctx))
            raise retry_for(ctx, error) from error

    return run
