"""Jobs of the sync engine: per-chat sync, attachment downloads, the batch flush and the watchdog.

- ``sync_chat`` runs under job id ``sync:<chat id>`` (``keep_result=0``, so new messages can queue it again
  as soon as it finished) a moment after the messages that caused it, so a burst costs one flush. A
  message stored while it runs is picked up by the run itself (it loops while the chat is behind), by a
  follow-up job ``sync-next:<chat id>``, or at the latest by the watchdog.
- ``fetch_chat_media`` downloads a chat's attachments at once (gateway links expire after ~180 s), even
  when the chat's Pipedrive writes wait for the batch period or for the daily budget. An attachment whose
  download fails is retried on its own schedule (stored with it; ``media:<chat id>:<ms>`` jobs), so it
  holds up neither the chat's other attachments nor its sync; once it settles, the chat is synced again.
- ``sync_rescue`` (cron, every 10 s) queues the chats whose run died with its worker (lease run out
  unreleased), so they are synced again within the lease and a tick, not after the dead job's timeout.
- ``flush_batched`` (cron) queues chats whose dirty days are due; ``sync_watchdog`` (cron) queues chats
  with messages the engine never saw (a lost enqueue, a worker that died, catch-up of a company that
  installed later) and attachments whose retry is due. Catch-up of the numbers themselves is the
  session watcher's (``watch_sessions``).

Transient failures retry with backoff honouring ``retry_after``; a spent daily budget defers the company
(no request leaves until it resets); permanent failures are stored in ``sync_problem`` for admins.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from arq.worker import Retry

from server.domain.errors import BudgetExhausted, NeedsReauth, NotInstalled, Permanent, StorageBusy, Transient
from server.domain.ports.queue import JobQueue
from server.domain.sync import MediaRetry, SyncProblem
from server.jobs.deps import JobDeps, job_deps, job_id
from server.jobs.retry import retry_for
from server.pipedrive.sync_adapter import PipedriveCrm
from server.services.sync.context import SyncBusy, SyncContext
from server.services.sync.flush import queue_due_chats
from server.services.sync.media import download_chat_media
from server.services.sync.run import SyncOutcome, sync_job_id
from server.services.sync.run import sync_chat as run_sync

log = logging.getLogger(__name__)

MAX_PASSES = 5  # a run that keeps finding new messages hands over to a fresh job after this many passes


def media_job_id(chat_id: int) -> str:
    return f"media:{chat_id}"


def burst_wait(window: timedelta, received_at: datetime | None, now: datetime) -> timedelta:
    """How long a chat's sync waits for the rest of a burst: ``window`` counted from when the message
    reached us (``received_at``: the webhook's arrival; ``None``: now), so time spent storing it is not
    waited twice."""
    if received_at is None:
        return window
    return max(timedelta(0), min(window, window - (now - received_at)))


async def enqueue_sync(
    ctx: dict[str, Any],
    chat_ids: set[int] | list[int],
    *,
    media_chat_ids: set[int] | None = None,
    received_at: datetime | None = None,
) -> None:
    """After new messages: download their attachments now (``media_chat_ids``: the chats whose new
    messages carry media; ``None``: all), write them to Pipedrive after the burst (``received_at``:
    when the webhook that carried them arrived)."""
    deps = job_deps(ctx)
    if not deps.sync_enabled:
        return
    queue = deps.queue
    delay = burst_wait(deps.timings.burst_window, received_at, deps.clock.now())
    # Chats of companies WaPipe is not installed in (yet) are left to the watchdog.
    installed = await deps.sync_store.companies_installed(sorted(set(chat_ids)))
    for chat_id in sorted(installed):
        if media_chat_ids is None or chat_id in media_chat_ids:
            await queue.enqueue("fetch_chat_media", chat_id, job_id=media_job_id(chat_id))
        await queue_chat_sync(queue, chat_id, defer_by=delay)


async def queue_chat_sync(queue: JobQueue, chat_id: int, *, defer_by: timedelta | None = None) -> bool:
    """Queue the chat's sync; when its job id is taken by a run already under way (which may have read the
    chat before what is new, or died with its worker), queue its follow-up ``sync-next``. ``False`` when a
    queued run will do (it reads everything new)."""
    if await queue.enqueue("sync_chat", chat_id, job_id=sync_job_id(chat_id), defer_by=defer_by):
        return True
    if await queue.is_running(sync_job_id(chat_id)):
        return await queue.enqueue("sync_chat", chat_id, job_id=f"sync-next:{chat_id}", defer_by=defer_by)
    return False


async def company_context(ctx: dict[str, Any], company_id: int) -> SyncContext:
    """The company's ``SyncContext`` over its admin installation (else ``NotInstalled``, ``NeedsReauth``)."""
    deps = job_deps(ctx)
    pipedrive, config, media = deps.pipedrive, deps.sync_config, deps.media_files
    if pipedrive is None or config is None or media is None:
        raise RuntimeError(
            "the jobs' dependencies do not configure the sync (JobDeps.sync_config, media_files)"
        )
    client = await pipedrive.for_company(company_id)
    return SyncContext(
        store=deps.sync_store,
        index_store=deps.phone_index,
        inbox=deps.inbox,
        media=media,
        config=config,
        crm=PipedriveCrm(client),
        transport=None,
        clock=deps.clock.now,
        worker=f"{deps.runner_name}:{job_id(ctx)}",
        caches=deps.sync_caches,
    )


async def sync_chat(ctx: dict[str, Any], chat_id: int) -> str:
    deps = job_deps(ctx)
    if not deps.sync_enabled:
        return "sync not configured"
    store = deps.sync_store
    chat = await store.chat(chat_id)
    if chat is None:
        successor = await store.successor_chat(chat_id)
        if successor is not None:
            await deps.queue.enqueue("sync_chat", successor, job_id=sync_job_id(successor))
        return f"chat {chat_id} gone" + (f", merged into {successor}" if successor else "")
    now = deps.clock.now()
    deferred = await store.deferred_until(chat.company_id)
    if deferred is not None and deferred > now:
        raise Retry(defer=(deferred - now).total_seconds())
    try:
        context = await company_context(ctx, chat.company_id)
        context.transport = deps.transports.get(chat.transport)
        outcome = await run_sync(context, chat_id, chat=chat)
        _count_lags(deps, outcome)
        passes = 1
        while outcome.more and passes < MAX_PASSES:
            outcome = await run_sync(context, chat_id)
            _count_lags(deps, outcome)
            passes += 1
    except SyncBusy as busy:
        raise Retry(defer=deps.timings.busy_retry.total_seconds()) from busy
    except StorageBusy as error:
        log.info("sync of chat %s will retry: the database is busy", chat_id)
        raise retry_for(ctx, base=0.5) from error
    except BudgetExhausted as error:
        until = now + timedelta(seconds=error.retry_after or 3600)
        await store.defer_company(chat.company_id, until, error.reason)
        raise retry_for(ctx, error) from error
    except Transient as error:
        log.info("sync of chat %s will retry: %s", chat_id, error.reason)
        raise retry_for(ctx, error) from error
    except (NotInstalled, NeedsReauth) as error:
        await store.record_problem(SyncProblem(chat.company_id, None, error.reason, error.message))
        return f"not synced: {error.reason}"
    except Permanent as error:
        await store.record_problem(SyncProblem(chat.company_id, chat_id, error.reason, error.message))
        log.warning("sync of chat %s failed: %s", chat_id, error.reason)
        return f"failed: {error.reason}"
    await _after(deps, outcome)
    return str(outcome)


def _count_lags(deps: JobDeps, outcome: SyncOutcome) -> None:
    """The sync's lag, in the process's metrics: one observation per day written with new live messages."""
    for lag in outcome.lags:
        deps.metrics.transcript_written(lag.total_seconds())


async def _after(deps: JobDeps, outcome: SyncOutcome) -> None:
    queue = deps.queue
    await retry_media_at(deps, outcome.chat_id, outcome.media_retry_at)
    if outcome.merged_into is not None:
        await queue.enqueue("sync_chat", outcome.merged_into, job_id=sync_job_id(outcome.merged_into))
    if outcome.more:
        await queue.enqueue(
            "sync_chat",
            outcome.chat_id,
            job_id=f"sync-next:{outcome.chat_id}",
            defer_by=deps.timings.burst_window,
        )


async def fetch_chat_media(ctx: dict[str, Any], chat_id: int) -> str:
    """Download the chat's due attachments; queue the chat's sync when one settled (its file is to be
    uploaded, its day written again), and this job again for when a failing one is next due."""
    deps = job_deps(ctx)
    if deps.media_files is None:
        return "media not configured"
    store = deps.sync_store
    chat = await store.chat(chat_id)
    if chat is None:
        return "chat gone"
    transport = deps.transports.get(chat.transport)
    retry = deps.sync_config.media_retry if deps.sync_config is not None else MediaRetry()
    try:
        done = await download_chat_media(
            store, deps.media_files, transport, chat, retry=retry, now=deps.clock.now()
        )
    except StorageBusy as error:
        raise retry_for(ctx, base=0.5) from error
    if done.settled:
        await enqueue_sync(ctx, [chat_id], media_chat_ids=set())
    await retry_media_at(deps, chat_id, done.retry_at)
    return f"{done.stored} stored" + (f", next try {done.retry_at.isoformat()}" if done.retry_at else "")


async def retry_media_at(deps: JobDeps, chat_id: int, at: datetime | None) -> None:
    """Queue the chat's attachment downloads for ``at`` (one job per chat and time)."""
    if at is None:
        return
    wait = max(timedelta(0), at - deps.clock.now())
    retry_id = f"{media_job_id(chat_id)}:{int(at.timestamp() * 1000)}"
    await deps.queue.enqueue("fetch_chat_media", chat_id, job_id=retry_id, defer_by=wait)


async def flush_batched(ctx: dict[str, Any]) -> int:
    """Queue every chat with a dirty day whose batch period is over (real time: at once)."""
    deps = job_deps(ctx)
    if not deps.sync_enabled:
        return 0
    return await queue_due_chats(deps.sync_store, deps.queue, now=deps.clock.now())


async def sync_rescue(ctx: dict[str, Any]) -> int:
    """Queue again, at once, the chats whose run died with its worker: their lease ran out unreleased
    (a live run renews it). The dead run's job id may stay taken until the job's timeout, so the chat is
    queued as its follow-up (``sync-next``) then."""
    deps = job_deps(ctx)
    if not deps.sync_enabled:
        return 0
    queued = 0
    for chat_id in await deps.sync_store.abandoned_chats(deps.clock.now()):
        queued += int(await queue_chat_sync(deps.queue, chat_id))
    if queued:
        log.warning("%s chats whose sync run died with its worker were queued again", queued)
    return queued


async def sync_watchdog(ctx: dict[str, Any]) -> int:
    """Queue chats with messages the engine never folded in, and the downloads of attachments whose retry
    is due (its job was lost with a restart, say)."""
    deps = job_deps(ctx)
    if not deps.sync_enabled:
        return 0
    store, queue = deps.sync_store, deps.queue
    queued = 0
    for chat_id in await store.chats_behind():
        queued += int(await queue.enqueue("sync_chat", chat_id, job_id=sync_job_id(chat_id)))
    for chat_id in await store.chats_with_media_due(deps.clock.now()):
        queued += int(await queue.enqueue("fetch_chat_media", chat_id, job_id=media_job_id(chat_id)))
    return queued
