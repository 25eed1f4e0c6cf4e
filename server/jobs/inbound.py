"""Jobs of the inbound path: turn stored webhooks into inbox rows, and catch up after a gap.

Pipedrive's Person deliveries are stored the same way and applied by ``server.jobs.person_events``.

``process_inbound_event`` runs once per stored delivery (job id ``inbound:<event id>``); a sweeper
re-enqueues deliveries still pending after a minute, so one whose enqueue was lost is not lost.
``catch_up_account`` wires and schedules catch-up; what it reads and decides is
``server.services.catch_up``'s.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from arq.worker import Retry

from server.domain.errors import MalformedWebhook, StorageBusy
from server.domain.models import InboundEventState
from server.domain.ports.queue import JobQueue
from server.jobs.campaigns import note_short_replies
from server.jobs.deps import job_deps, job_try
from server.jobs.person_events import PIPEDRIVE, process_person_event
from server.jobs.retry import retry_for
from server.jobs.sync import enqueue_sync
from server.jobs.waiting_opt_outs import note_lid_replies
from server.services.catch_up import CatchUpChain, catch_up
from server.services.ingest import IngestOutcome, ingest_events
from server.storage.inbound_events import SqlInboundEventStore
from server.whatsapp.webhook_bodies import events_from_body

log = logging.getLogger(__name__)

EARLY_STATUS_TRIES = 5  # an ack that overtook its message waits this many tries for it


def inbound_job_id(event_id: int) -> str:
    return f"inbound:{event_id}"


async def keep_delivery(
    store: SqlInboundEventStore,
    queue: JobQueue,
    *,
    transport: str,
    event_key: str,
    session_name: str,
    body: bytes,
    received_at: datetime,
) -> bool:
    """Store a delivery once under its key and queue its processing (a webhook, a Pipedrive delivery, an
    embedded session's event); ``False`` for a redelivery, which changes nothing. A failed enqueue is
    logged: the delivery is stored, and the sweeper queues it later."""
    event_id, is_new = await store.record(
        transport=transport,
        event_key=event_key,
        session_name=session_name,
        body=body,
        received_at=received_at,
    )
    if not is_new:
        return False
    try:
        await queue.enqueue("process_inbound_event", event_id, job_id=inbound_job_id(event_id))
    except Exception:
        log.exception(
            "could not enqueue a stored delivery", extra={"event_id": event_id, "transport": transport}
        )
    return True


def catch_up_job_id(account_id: int) -> str:
    return f"catch-up:{account_id}"


async def process_inbound_event(ctx: dict[str, Any], event_id: int) -> str:
    deps = job_deps(ctx)
    events_store = deps.inbound_events
    stored = await events_store.get(event_id)
    if stored is None or stored.state in (InboundEventState.PROCESSED, InboundEventState.REJECTED):
        return "nothing to do"
    if stored.transport == PIPEDRIVE:
        return await process_person_event(ctx, stored)
    try:
        events = events_from_body(stored.transport, stored.body, received_at=stored.received_at)
    except MalformedWebhook as error:
        await events_store.mark(
            event_id, InboundEventState.REJECTED, reason=error.reason, detail=error.message
        )
        return "rejected"
    except Exception as error:  # reading a stored body does no I/O: trying again would fail the same way
        log.exception("inbound event %s could not be read", event_id)
        detail = f"{type(error).__name__}: {error}"
        await events_store.mark(event_id, InboundEventState.FAILED, reason="unreadable_body", detail=detail)
        return "failed"
    try:
        outcome = await ingest_events(
            events, transport=stored.transport, store=deps.inbox, received_at=stored.received_at
        )
    except StorageBusy as error:
        log.info("inbound event %s will retry: the database is busy", event_id)
        raise retry_for(ctx, base=0.5) from error
    await _follow_up(ctx, outcome, received_at=stored.received_at)
    if (outcome.early_statuses or outcome.early_changes) and job_try(ctx) < EARLY_STATUS_TRIES:
        await events_store.mark(event_id, InboundEventState.PENDING, reason="waiting_for_message")
        raise Retry(defer=deps.timings.retry_base.total_seconds() * job_try(ctx))  # 2 s, 4 s, … by default
    if outcome.early_statuses:
        keys = ", ".join(status.key for status in outcome.early_statuses)[:900]
        await events_store.mark(
            event_id, InboundEventState.FAILED, reason="unknown_message", detail=f"no message for {keys}"
        )
        return "failed"
    detail = (
        f"unknown session {', '.join(sorted(outcome.unknown_sessions))}" if outcome.unknown_sessions else ""
    )
    # Changes still naming no stored message after the last try are to messages WaPipe never had: done
    # (without a detail, so the body, which may hold a deleted message's text, is not kept).
    await events_store.mark(event_id, InboundEventState.PROCESSED, detail=detail)
    return f"{len(outcome.new_messages)} new, {outcome.duplicates} duplicate, {outcome.statuses} statuses"


async def _follow_up(ctx: dict[str, Any], outcome: IngestOutcome, *, received_at: datetime) -> None:
    await note_short_replies(ctx, outcome.short_replies)  # a stop word in reply: an opt-out of campaigns
    await note_lid_replies(ctx, outcome.lid_replies)  # the same from a chat known only by a LID
    for account_id in outcome.reconnected:
        await job_deps(ctx).queue.enqueue("catch_up_account", account_id, job_id=catch_up_job_id(account_id))
    await enqueue_sync(
        ctx,
        {chat_id for _, chat_id in outcome.touched_chats},
        media_chat_ids=outcome.media_chats,
        received_at=received_at,
    )


async def catch_up_account(
    ctx: dict[str, Any], account_id: int, trigger: str = "reconnect", chain: dict[str, Any] | None = None
) -> str:
    """Run catch-up (``server.services.catch_up``) for the number; queue the sync of the chats it brought,
    the chain's next run when pages remain, a retry after a transient failure.

    ``trigger`` is ``reconnect`` (the session came back: a gap is expected) or ``watchdog`` (a routine
    check of a session that looked fine: anything found was missed by webhooks). ``chain``: the catch-up
    this run continues (``CatchUpChain.as_job_argument``); none starts a new one."""
    deps = job_deps(ctx)
    outcome = await catch_up(
        account_id,
        trigger,
        accounts=deps.accounts,
        inbox=deps.inbox,
        transports=deps.transports,
        clock=deps.clock,
        budget=deps.timings.catch_up_budget,
        chain=CatchUpChain.from_job_argument(chain) if chain else None,
    )
    await note_short_replies(ctx, outcome.short_replies)  # a stop word sent while the number was away
    await note_lid_replies(ctx, outcome.lid_replies)
    if outcome.chats:
        await enqueue_sync(ctx, outcome.chats, media_chat_ids=outcome.media_chats)
    if outcome.transient is not None:
        raise retry_for(ctx, outcome.transient) from outcome.transient
    if outcome.next is not None:  # more than one run's worth: the chain continues in a fresh job
        next_run = outcome.next.as_job_argument()
        await deps.queue.enqueue(
            "catch_up_account", account_id, trigger, next_run, defer_by=deps.timings.catch_up_pause
        )
    return outcome.summary


async def sweep_inbound(ctx: dict[str, Any]) -> int:
    """Re-enqueue deliveries stored but never processed (a lost enqueue, a worker that died)."""
    deps = job_deps(ctx)
    pending = await deps.inbound_events.pending_ids(older_than=deps.clock.now() - deps.timings.sweep_after)
    for event_id in pending:
        await deps.queue.enqueue("process_inbound_event", event_id, job_id=inbound_job_id(event_id))
    return len(pending)
