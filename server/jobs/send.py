"""The send job: wires the outbox, the numbers' transports, Pipedrive and the inbox into
``server.services.deliver`` (which decides what happens to the row), retries a transient failure (a send
past ``JobTimings.send_deadline`` too) with backoff, gives up by name after ``MAX_SEND_TRIES``, and queues
the sync of the chat a sent message was stored in.

Its job id (``send:<outbox id>``) is free again as soon as a run ends, whichever way (``keep_result=0`` in
``server.jobs.functions``): arq and the in-process runner fail a job that raised or ran past its timeout
without retrying it, and would keep the id taken for the hour its result is kept, so a campaign could not
queue the send again meanwhile (``tick.requeue_unsent``). Queuing it again is safe: a sent row is nothing to
do, and one whose attempt started is looked for on the gateway before any resend.
"""

from __future__ import annotations

import logging
from typing import Any

from server.jobs.deps import job_deps, job_try
from server.jobs.retry import retry_for
from server.jobs.sync import enqueue_sync
from server.services.deliver import DeliverPorts, deliver, give_up
from server.services.send import send_job_id
from server.services.sent_media import keep_sent_attachment

log = logging.getLogger(__name__)

MAX_SEND_TRIES = 8
SEND_JOB_TIMEOUT = 300  # seconds; the send's own deadline (at most 240 s, a setting) ends it before this


async def sweep_outbox(ctx: dict[str, Any]) -> int:
    """Queue the send of every message whose job may have been lost (Redis restarted without its data, the
    in-process runner killed with jobs in its memory): queued for longer than ``sweep_after``, or sending
    for longer than the send's deadline and ``sweep_after`` more. The job id dedupes a send still queued,
    retrying or running; one whose attempt started is looked for on the gateway before any resend."""
    deps = job_deps(ctx)
    now, timings = deps.clock.now(), deps.timings
    stalled = await deps.outbox.stalled(
        queued_before=now - timings.sweep_after,
        sending_before=now - timings.send_deadline - timings.sweep_after,
    )
    queued = 0
    for outbox_id in stalled:
        queued += int(await deps.queue.enqueue("send_outbox", outbox_id, job_id=send_job_id(outbox_id)))
    if queued:
        log.warning("%s sends whose job was lost were queued again", queued)
    return queued


async def send_outbox(ctx: dict[str, Any], outbox_id: int) -> str:
    deps = job_deps(ctx)
    if deps.installations is None:
        raise RuntimeError("the jobs' dependencies hold no installation store (JobDeps.installations)")
    ports = DeliverPorts(
        outbox=deps.outbox,
        accounts=deps.accounts,
        installations=deps.installations,
        transports=deps.transports,
        pipedrive=deps.pipedrive,
        inbox=deps.inbox,
        clock=deps.clock,
        files=deps.sent_files,
        deadline=deps.timings.send_deadline,
    )
    delivered = await deliver(ports, outbox_id)
    if delivered.transient is not None:
        error = delivered.transient
        if job_try(ctx) >= MAX_SEND_TRIES:
            return await give_up(ports.outbox, outbox_id, error, tries=MAX_SEND_TRIES)
        raise retry_for(ctx, error) from error
    if delivered.attachment is not None and deps.media_files is not None:  # what we sent, we have
        await keep_sent_attachment(
            deps.sync_store,
            deps.media_files,
            deps.pipedrive,
            delivered.attachment,
            known=deps.file_places,
            now=deps.clock.now(),
        )
    if delivered.chat_id is not None:
        await enqueue_sync(ctx, [delivered.chat_id])
    return delivered.summary
