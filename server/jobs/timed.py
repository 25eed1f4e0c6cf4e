"""Every job timed into its process's metrics, on arq and the in-process runner alike: how long it waited
after it was due (``wapipe_job_wait_seconds``) and how long it ran, with its outcome
(``wapipe_job_duration_seconds``). Times come from the jobs' clock (``JobDeps.clock``)."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from arq.typing import WorkerCoroutine
from arq.worker import Retry

from server.jobs.deps import job_deps, job_due_at
from server.jobs.retry import JobFunction

COMPLETE, RETRY, FAILED, CANCELLED = "complete", "retry", "failed", "cancelled"


def timed(name: str, job: JobFunction) -> WorkerCoroutine:
    """``job`` (registered as ``name``) with its wait and its run counted."""

    @functools.wraps(job)
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        deps = job_deps(ctx)
        metrics, clock = deps.metrics, deps.clock
        started = clock.now()
        due_at = job_due_at(ctx)
        metrics.job_started(name, None if due_at is None else (started - due_at).total_seconds())
        outcome = FAILED
        try:
            result = await job(ctx, *args, **kwargs)
        except Retry:
            outcome = RETRY
            raise
        except asyncio.CancelledError:  # a timeout, or the runner stopping
            outcome = CANCELLED
            raise
        else:
            outcome = COMPLETE
            return result
        finally:
            metrics.job_finished(name, outcome, (clock.now() - started).total_seconds())

    return run
