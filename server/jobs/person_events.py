"""Pipedrive's Person deliveries, stored by ``POST /webhooks/pipedrive``, applied to links and the index.

``process_inbound_event`` hands a stored delivery of transport ``pipedrive`` here. A delivery that is not
a Person one, or names no company WaPipe knows, is kept as ``rejected`` or ``failed`` with its reason; a
Pipedrive that cannot be reached now retries the job.
"""

from __future__ import annotations

import logging
from typing import Any

from server.domain.errors import MalformedWebhook, NeedsReauth, NotInstalled, Permanent, Transient
from server.domain.models import InboundEventState
from server.domain.person_events import parse_person_event
from server.jobs.deps import job_deps
from server.jobs.retry import retry_for
from server.jobs.sync import company_context
from server.services.person_changes import follow_person_event
from server.storage.inbound_events import StoredEvent

log = logging.getLogger(__name__)

PIPEDRIVE = "pipedrive"  # the inbound_event transport of Pipedrive's deliveries
PIPEDRIVE_WEBHOOK_PATH = "/webhooks/pipedrive"


def pipedrive_event_key(pipedrive_company_id: int, delivery_id: str) -> str:
    """The stored key of a delivery: a retry (same ``meta.id``) finds it stored."""
    return f"{PIPEDRIVE}:{pipedrive_company_id}:{delivery_id}"[:200]


async def process_person_event(ctx: dict[str, Any], stored: StoredEvent) -> str:
    deps = job_deps(ctx)
    events_store = deps.inbound_events
    try:
        event = parse_person_event(stored.body)
    except MalformedWebhook as error:
        await events_store.mark(
            stored.id, InboundEventState.REJECTED, reason=error.reason, detail=error.message
        )
        return "rejected"
    company = await deps.companies.get(event.company_id)
    if company is None or not deps.sync_enabled:
        reason = "unknown_company" if company is None else "sync_not_configured"
        await events_store.mark(
            stored.id, InboundEventState.FAILED, reason=reason, detail=f"company {event.company_id}"
        )
        return reason
    try:
        context = await company_context(ctx, company.id)
        result = await follow_person_event(context, deps.queue, company.id, event)
    except Transient as error:
        log.info("person event %s will retry: %s", stored.id, error.reason)
        raise retry_for(ctx, error) from error
    except (NotInstalled, NeedsReauth) as error:
        await events_store.mark(
            stored.id, InboundEventState.FAILED, reason=error.reason, detail=error.message
        )
        return error.reason
    except Permanent as error:
        log.warning("person event %s failed: %s", stored.id, error.reason)
        await events_store.mark(
            stored.id, InboundEventState.FAILED, reason=error.reason, detail=error.message
        )
        return error.reason
    await events_store.mark(stored.id, InboundEventState.PROCESSED)
    return result
