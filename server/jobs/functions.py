"""The job functions and cron jobs, the same for the arq worker and the in-process runner.

Every job takes ``ctx`` first (arq's convention). ``ctx`` carries the shared resources the composition
root put there (see ``server.jobs.context``) plus arq's ``job_id`` and ``job_try``.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Record that this job runner is alive; the status page shows when each last beat."""
    await ctx["heartbeats"].beat(ctx["runner_name"])


FUNCTIONS: list[Function] = []
CRON_JOBS: list[CronJob] = [
    cron(heartbeat, name="heartbeat", second={0, 30}, run_at_startup=True, keep_result=0),
]
