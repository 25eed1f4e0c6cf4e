"""The send job: wires the outbox, the numbers' transports, Pipedrive and the inbox into
``server.services.deliver`` (which decides what happens to the row), retries a transient failure with
backoff, gives up by name after ``MAX_SEND_TRIES``, and queues the sync of the chat a sent message was
stored in.
"""

from __future__ import annotations

from typing import Any

from server.jobs.retry import retry_for
from server.jobs.sync import enqueue_sync
from server.jobs.timing import clock
from server.services.deliver import DeliverPorts, deliver, give_up

MAX_SEND_TRIES = 8


async def send_outbox(ctx: dict[str, Any], outbox_id: int) -> str:
    ports = DeliverPorts(
        outbox=ctx["outbox"],
        accounts=ctx["accounts"],
        installations=ctx["installations"],
        transports=ctx["transports"],
        pipedrive=ctx.get("pipedrive"),
        inbox=ctx["inbox"],
        clock=clock(ctx),
    )
    delivered = await deliver(ports, outbox_id)
    if delivered.transient is not None:
        error = delivered.transient
        if ctx.get("job_try", 1) >= MAX_SEND_TRIES:
            return await give_up(ports.outbox, outbox_id, error, tries=MAX_SEND_TRIES)
        raise retry_for(ctx, error) from error
    if delivered.chat_id is not None:
        await enqueue_sync(ctx, [delivered.chat_id])
    return delivered.summary
