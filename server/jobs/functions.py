"""The job functions and cron jobs, the same for the arq worker and the in-process runner.

Every job takes ``ctx`` first (arq's convention). ``ctx`` carries the ``JobDeps`` the composition root put
there (read with ``server.jobs.deps.job_deps``) plus arq's ``job_id`` and ``job_try``.
"""

from __future__ import annotations

from typing import Any

from arq import cron
from arq.cron import CronJob
from arq.worker import Function, func

from server.jobs.campaigns import (
    CHECK_REPLY_JOB,
    campaign_check_reply,
    campaign_mark_opted_out,
    campaign_tick,
    campaign_watchdog,
)
from server.jobs.deps import job_deps
from server.jobs.inbound import catch_up_account, process_inbound_event, sweep_inbound
from server.jobs.purge import purge_uninstalled_companies
from server.jobs.retention import apply_retention
from server.jobs.send import MAX_SEND_TRIES, send_outbox
from server.jobs.sessions import watch_sessions
from server.jobs.setup import SETUP_JOB, setup_company
from server.jobs.sync import fetch_chat_media, flush_batched, sync_chat, sync_watchdog

# Jobs one runner (the arq worker or the in-process one) runs at once: most wait on Pipedrive or WAHA.
MAX_JOBS = 40


async def heartbeat(ctx: dict[str, Any]) -> None:
    """Record that this job runner is alive; the status page shows when each last beat."""
    deps = job_deps(ctx)
    await deps.heartbeats.beat(deps.runner_name)


FUNCTIONS: list[Function] = [
    func(process_inbound_event, name="process_inbound_event", max_tries=8),
    # keep_result=0: the job id frees up at once, so the next reconnect can queue another catch-up.
    func(catch_up_account, name="catch_up_account", keep_result=0, max_tries=8),
    # keep_result=0: a reinstall within the hour runs set-up again (it finds what exists, fixes the rest).
    func(setup_company, name=SETUP_JOB, keep_result=0, max_tries=8),
    # keep_result=0: a chat's next messages can queue its sync as soon as the previous run finished.
    func(sync_chat, name="sync_chat", keep_result=0, max_tries=30, timeout=600),
    func(fetch_chat_media, name="fetch_chat_media", keep_result=0, max_tries=6),
    func(send_outbox, name="send_outbox", max_tries=MAX_SEND_TRIES),
    # keep_result=0: each run queues the next under a new id; a lost run is restarted by the watchdog.
    func(campaign_tick, name="campaign_tick", keep_result=0, max_tries=5, timeout=600),
    func(campaign_mark_opted_out, name="campaign_mark_opted_out", max_tries=8),
    func(campaign_check_reply, name=CHECK_REPLY_JOB, max_tries=8),
]
CRON_JOBS: list[CronJob] = [
    cron(heartbeat, name="heartbeat", second={0, 30}, run_at_startup=True, keep_result=0),
    cron(sweep_inbound, name="sweep_inbound", second={15}, keep_result=0),
    cron(watch_sessions, name="watch_sessions", second={45}, keep_result=0),
    cron(flush_batched, name="flush_batched", second={40}, keep_result=0),
    cron(sync_watchdog, name="sync_watchdog", second={50}, keep_result=0),
    cron(campaign_watchdog, name="campaign_watchdog", second={25}, keep_result=0),
    cron(
        purge_uninstalled_companies,
        name="purge_uninstalled_companies",
        hour={3},
        minute={17},
        second={0},
        keep_result=0,
    ),
    cron(apply_retention, name="apply_retention", hour={2}, minute={47}, second={0}, keep_result=0),
]
