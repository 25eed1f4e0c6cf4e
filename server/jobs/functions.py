"""The job functions and cron jobs, the same for the arq worker and the in-process runner.

Every job takes ``ctx`` first (arq's convention). ``ctx`` carries the shared resources the composition
root put there (see ``server.jobs.context``) plus arq's ``job_id`` and ``job_try``.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from server.jobs.inbound import catch_up_account, process_inbound_event, sweep_inbound


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Record that this job runner is alive; the status page shows when each last beat."""
    await ctx["heartbeats"].beat(ctx["runner_name"])


FUNCTIONS: list[Function] = [
    func(process_inbound_event, name="process_inbound_event", max_tries=8),
    # keep_result=0: the job id frees up at once, so the next reconnect can queue another catch-up.
    func(catch_up_account, name="catch_up_account", keep_result=0, max_tries=8),
]
CRON_JOBS: list[CronJob] = [
    cron(heartbeat, name="heartbeat", second={0, 30}, run_at_startup=True, keep_result=0),
    cron(sweep_inbound, name="sweep_inbound", second={15}, keep_result=0),
]
