"""The job functions and cron jobs, the same for the arq worker and the in-process runner.

Every job takes ``ctx`` first (arq's convention). ``ctx`` carries the ``JobDeps`` the composition root put
there (read with ``server.jobs.deps.job_deps``) plus arq's ``job_id`` and ``job_try``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from server.jobs.inbound import catch_up_account, process_inbound_event, sweep_inbound
from server.jobs.purge import purge_uninstalled_companies
from server.jobs.reaper import reap_dead_workers
from server.jobs.retention import apply_retention, retry_media_deletions
from server.jobs.retry import retried_when_busy
from server.jobs.send import MAX_SEND_TRIES, SEND_JOB_TIMEOUT, send_outbox, sweep_outbox
from server.jobs.sessions import watch_sessions
from server.jobs.setup import SETUP_JOB, setup_company
from server.jobs.sync import fetch_chat_media, flush_batched, sync_chat, sync_rescue, sync_watchdog
from server.jobs.timed import timed
from server.jobs.waiting_opt_outs import (
    CHECK_LID_REPLY_JOB,
    SETTLE_JOB,
    campaign_check_lid_reply,
    settle_waiting_opt_outs,
)

# Jobs one runner (the arq worker or the in-process one) runs at once: most wait on Pipedrive or WAHA.
MAX_JOBS = 40


def job(coroutine: Callable[..., Awaitable[Any]], *, name: str, **options: Any) -> Function:
    """A queued job: a busy database it meets is retried with backoff (``retried_when_busy``) by arq and
    the in-process runner alike (cron jobs are not retried: arq tries one once, and its next time comes);
    its wait and run are timed (``timed``), as are the cron jobs'."""
    return func(timed(name, retried_when_busy(coroutine)), name=name, **options)


def scheduled(coroutine: Callable[..., Awaitable[Any]], *, name: str, **options: Any) -> CronJob:
    """A cron job, timed like the queued ones."""
    return cron(timed(name, coroutine), name=name, **options)


FUNCTIONS: list[Function] = [
    job(process_inbound_event, name="process_inbound_event", max_tries=8),
    # keep_result=0: the job id frees up at once, so the next reconnect can queue another catch-up.
    job(catch_up_account, name="catch_up_account", keep_result=0, max_tries=8),
    # keep_result=0: a reinstall within the hour runs set-up again (it finds what exists, fixes the rest).
    job(setup_company, name=SETUP_JOB, keep_result=0, max_tries=8),
    # keep_result=0: a chat's next messages can queue its sync as soon as the previous run finished.
    job(sync_chat, name="sync_chat", keep_result=0, max_tries=30, timeout=600),
    job(fetch_chat_media, name="fetch_chat_media", keep_result=0, max_tries=6),
    # keep_result=0: a send that failed or ran past its timeout can be queued again at once (a campaign's
    # next look does); its row says whether it went out (``server.jobs.send``).
    job(send_outbox, name="send_outbox", keep_result=0, max_tries=MAX_SEND_TRIES, timeout=SEND_JOB_TIMEOUT),
    # keep_result=0: each run queues the next under a new id; a lost run is restarted by the watchdog.
    job(campaign_tick, name="campaign_tick", keep_result=0, max_tries=5, timeout=600),
    job(campaign_mark_opted_out, name="campaign_mark_opted_out", max_tries=8),
    job(campaign_check_reply, name=CHECK_REPLY_JOB, max_tries=8),
    job(campaign_check_lid_reply, name=CHECK_LID_REPLY_JOB, max_tries=8),
]
CRON_JOBS: list[CronJob] = [
    scheduled(sweep_inbound, name="sweep_inbound", second={15}, keep_result=0),
    scheduled(watch_sessions, name="watch_sessions", second={45}, keep_result=0),
    scheduled(flush_batched, name="flush_batched", second={40}, keep_result=0),
    scheduled(sync_watchdog, name="sync_watchdog", second={50}, keep_result=0),
    scheduled(sweep_outbox, name="sweep_outbox", second={20}, keep_result=0),
    scheduled(sync_rescue, name="sync_rescue", second=set(range(5, 60, 10)), keep_result=0),
    scheduled(campaign_watchdog, name="campaign_watchdog", second={25}, keep_result=0),
    scheduled(settle_waiting_opt_outs, name=SETTLE_JOB, second={35}, keep_result=0),
    scheduled(
        purge_uninstalled_companies,
        name="purge_uninstalled_companies",
        hour={3},
        minute={17},
        second={0},
        keep_result=0,
    ),
    scheduled(apply_retention, name="apply_retention", hour={2}, minute={47}, second={0}, keep_result=0),
    scheduled(
        retry_media_deletions,
        name="retry_media_deletions",
        minute=set(range(2, 60, 5)),
        second={30},
        keep_result=0,
    ),
]
# Only arq workers die apart from the rest: the in-process runner has no reaper.
WORKER_CRON_JOBS: list[CronJob] = [
    scheduled(reap_dead_workers, name="reap_dead_workers", second=set(range(0, 60, 5)), keep_result=0),
]
