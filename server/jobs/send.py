"""The send job: wires the outbox, the numbers' transports, Pipedrive and the inbox into
``server.services.deliver`` (which decides what happens to the row), retries a transient failure with
backoff, gives up by name after ``MAX_SEND_TRIES``, and queues the sync of the chat a sent message was
stored in.
"""

from __future__ import annotations

from typing import Any

from server.jobs.deps import job_deps, job_try
from server.jobs.retry import retry_for
from server.jobs.sync import enqueue_sync
from server.services.deliver import DeliverPorts, deliver, give_up
from server.services.sent_media import keep_sent_attachment

MAX_SEND_TRIES = 8


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
    )
    delivered = await deliver(ports, outbox_id)
    if delivered.transient is not None:
        error = delivered.transient
        if job_try(ctx) >= MAX_SEND_TRIES:
            return await give_up(ports.outbox, outbox_id, error, tries=MAX_SEND_TRIES)
        raise retry_for(ctx, error) from error
    if delivered.attachment is not None and deps.media_files is not None:  # what we sent, we have
        await keep_sent_attachment(deps.sync_store, deps.media_files, deps.pipedrive, delivered.attachment)
    if delivered.chat_id is not None:
        await enqueue_sync(ctx, [delivered.chat_id])
    return delivered.summary
