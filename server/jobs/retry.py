"""Retrying on purpose: exponential backoff with jitter, honouring an upstream's Retry-After."""

from __future__ import annotations

import random
from typing import Any

from arq.worker import Retry

from server.domain.errors import Transient
from server.jobs.deps import job_deps, job_try


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
