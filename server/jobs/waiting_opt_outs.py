"""Stop words from chats known only by a LID (``server.services.campaigns.waiting``), as jobs.

- ``note_lid_replies`` is called by the inbound and catch-up jobs with ingest's ``lid_replies``: a stop
  word whose number WaPipe already knows is an opt-out at once; one whose number it does not know is kept
  waiting (in the database, so a restart loses nothing) and ``campaign_check_lid_reply`` is queued. A
  reply that cannot be looked at now (the database is busy) is left to that job whole.
- ``campaign_check_lid_reply(company_id, account_id, lid, text, at)`` asks the number's gateway for the
  number behind the LID, ``LID_ASKS`` times with backoff from ``JobTimings.retry_base``; then it leaves
  the waiting opt-out to the cron and logs ``opt_out_waiting_for_number``.
- ``settle_waiting_opt_outs`` (cron, every minute) records the waiting opt-outs whose number a chat of their
  company has learnt since, and asks the gateway again every ``JobTimings.opt_out_recheck``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from server.domain.errors import Transient
from server.domain.stop_words import LidReply
from server.jobs.deps import JobDeps, job_deps, job_try
from server.jobs.retry import retry_for
from server.services.campaigns.waiting import LidOutcome, WaitingPorts, note_lid_reply, settle_waiting
from server.storage.audit import SqlAuditLog
from server.storage.opt_outs import SqlOptOutStore
from server.storage.waiting_opt_outs import SqlWaitingOptOutStore

log = logging.getLogger(__name__)
CHECK_LID_REPLY_JOB = "campaign_check_lid_reply"
SETTLE_JOB = "settle_waiting_opt_outs"
LID_ASKS = 6  # the gateway is asked this often (2, 4, … 32 s apart by default), then every re-check


def waiting_ports(deps: JobDeps) -> WaitingPorts:
    return WaitingPorts(
        opt_outs=SqlOptOutStore(deps.engine),
        waiting=SqlWaitingOptOutStore(deps.engine),
        accounts=deps.accounts,
        transports=deps.transports,
        queue=deps.queue,
        audit=SqlAuditLog(deps.engine),
    )


async def note_lid_replies(ctx: dict[str, Any], replies: Sequence[LidReply]) -> None:
    """Stop words among new short replies from chats known only by a LID become opt-outs, now or once
    their number is known; the inbound job never fails for one."""
    if not replies:
        return
    deps = job_deps(ctx)
    ports = waiting_ports(deps)
    recheck = deps.timings.opt_out_recheck
    for reply in replies:
        try:
            outcome = await note_lid_reply(
                ports, reply, now=deps.clock.now(), recheck=recheck, ask_gateway=False
            )
        except Exception:  # logged, and left to its own job with retries
            log.exception("a reply from a LID could not be checked for a stop word now")
            outcome = LidOutcome.WAITING
        if outcome is LidOutcome.WAITING:
            await deps.queue.enqueue(
                CHECK_LID_REPLY_JOB,
                reply.company_id,
                reply.account_id,
                reply.lid,
                reply.text,
                reply.at.isoformat(),
            )


async def campaign_check_lid_reply(
    ctx: dict[str, Any], company_id: int, account_id: int, lid: str, text: str, at: str
) -> str:
    deps = job_deps(ctx)
    reply = LidReply(company_id, account_id, lid, text, datetime.fromisoformat(at))
    try:
        outcome = await note_lid_reply(
            waiting_ports(deps),
            reply,
            now=deps.clock.now(),
            recheck=deps.timings.opt_out_recheck,
            ask_gateway=True,
        )
    except Transient as error:
        raise retry_for(ctx, error) from error
    if outcome is not LidOutcome.WAITING:
        return outcome.value
    if job_try(ctx) < LID_ASKS:
        raise retry_for(ctx)
    log.warning(
        "opt_out_waiting_for_number: a stop word from a LID is kept until its number is known",
        extra={"reason": "opt_out_waiting_for_number", "company": company_id, "account": account_id},
    )
    return outcome.value


async def settle_waiting_opt_outs(ctx: dict[str, Any]) -> str:
    deps = job_deps(ctx)
    recorded = await settle_waiting(
        waiting_ports(deps), now=deps.clock.now(), recheck=deps.timings.opt_out_recheck
    )
    return f"{recorded} recorded"
