"""The campaign jobs, and ``campaigns_for``: the campaign service over the jobs' dependencies.

- ``campaign_tick(campaign_id, seq)`` (job id ``campaign:<id>:<seq>``) runs the sending loop once
  (``server.services.campaigns.tick``) and hands over to run ``seq + 1`` at the next due time; a run that
  is no longer the campaign's live one, or finds it paused, cancelled or finished, ends the chain.
- ``campaign_watchdog`` (cron, every minute) starts a new run for each scheduled or running campaign whose
  run is overdue by ``JobTimings.campaign_stale`` (a worker killed mid-run, a queue lost in a restart).
  The old run, should it still come, finds another ``seq`` and does nothing; sends stay exactly once
  either way (the outbox's ``client_ref``).
- ``campaign_mark_opted_out(company_id, person_id, when)`` records an opt-out in Pipedrive;
  ``campaign_check_reply`` checks a reply the inbound job could not check at once.
- ``note_short_replies`` is called by the inbound and catch-up jobs for new short texts from contacts: a
  stop word becomes an opt-out (``server.services.campaigns.opt_out``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

from server.domain.errors import Transient
from server.jobs.deps import CampaignPipedrive, JobDeps, job_deps
from server.jobs.retry import retry_for
from server.pipedrive.recipients import recipients_for
from server.services.campaigns import CampaignPorts, Campaigns
from server.services.campaigns.opt_out import note_reply
from server.services.campaigns.service import queue_tick
from server.services.campaigns.tick import tick
from server.services.cloud_templates import CloudTemplates, TemplateCache
from server.storage.audit import SqlAuditLog
from server.storage.campaigns import SqlCampaignStore
from server.storage.cloud_templates import SqlTemplateMappings
from server.storage.company_settings import SqlCompanySettingsStore
from server.storage.opt_outs import SqlContactHistory, SqlOptOutStore
from server.whatsapp.cloud_templates import reader_for

log = logging.getLogger(__name__)
TICK_BATCH = 50  # messages per number per run: a run without gaps still ends soon
CHECK_REPLY_JOB = "campaign_check_reply"


def campaign_ports(
    deps: JobDeps, *, rng: random.Random | None = None, approved_cache: TemplateCache | None = None
) -> CampaignPorts:
    """``approved_cache``: where the approved templates are kept (the web process passes the one its
    template pickers read through); the jobs' own (``JobDeps.approved_templates``) by default."""
    engine = deps.engine
    settings = SqlCompanySettingsStore(engine)

    async def excluded(company_id: int) -> frozenset[str]:
        return frozenset((await settings.get(company_id)).excluded_numbers)

    return CampaignPorts(
        store=SqlCampaignStore(engine),
        opt_outs=SqlOptOutStore(engine),
        history=SqlContactHistory(engine),
        accounts=deps.accounts,
        outbox=deps.outbox,
        queue=deps.queue,
        clock=deps.clock,
        recipients_for=lambda company_id: campaign_pipedrive(deps, company_id),
        excluded_numbers=excluded,
        transports=dict(deps.transports),
        audit=SqlAuditLog(engine),
        random=rng or random.Random(),  # noqa: S311  (jitter between messages, not a secret)
        approved=CloudTemplates(
            reader_for(deps.transports.get("cloud")),
            SqlTemplateMappings(engine),
            deps.clock,
            deps.approved_templates if approved_cache is None else approved_cache,
        ),
    )


def campaigns_for(
    deps: JobDeps, *, rng: random.Random | None = None, approved_cache: TemplateCache | None = None
) -> Campaigns:
    """The campaign service the pages use, over the same stores, queue and clock as the jobs."""
    return Campaigns(campaign_ports(deps, rng=rng, approved_cache=approved_cache))


async def campaign_pipedrive(deps: JobDeps, company_id: int) -> CampaignPipedrive:
    if deps.campaign_pipedrive is not None:
        return await deps.campaign_pipedrive(company_id)
    if deps.pipedrive is None:
        raise RuntimeError("campaigns need Pipedrive: the jobs' dependencies hold no connector")
    return await recipients_for(deps.pipedrive, company_id)


async def campaign_tick(ctx: dict[str, Any], campaign_id: int, seq: int) -> str:
    deps = job_deps(ctx)
    ports = campaign_ports(deps)
    try:
        result = await tick(
            ports.tick_ports(), campaign_id, seq, batch=TICK_BATCH, poll=deps.timings.campaign_poll
        )
    except Transient as error:  # the database is busy: this run again (what it queued stays queued once)
        raise retry_for(ctx, error) from error
    if result.finished:
        return f"{result.queued} queued, finished"
    if result.next_at is None:
        return f"{result.queued} queued, stopped"
    campaign = await ports.store.by_id(campaign_id)
    if campaign is None or campaign.tick_seq != seq:
        return f"{result.queued} queued, another run took over"
    await queue_tick(ports.store, deps.queue, campaign, result.next_at, deps.clock.now())
    return f"{result.queued} queued, next at {result.next_at.isoformat()}"


async def campaign_watchdog(ctx: dict[str, Any]) -> str:
    deps = job_deps(ctx)
    store = SqlCampaignStore(deps.engine)
    now = deps.clock.now()
    restarted = 0
    for campaign in await store.overdue(now - deps.timings.campaign_stale):
        if await queue_tick(store, deps.queue, campaign, now, now):
            log.info("campaign %s: its run was overdue, started a new one", campaign.id)
            restarted += 1
    return f"{restarted} restarted"


async def campaign_mark_opted_out(ctx: dict[str, Any], company_id: int, person_id: int, when: str) -> str:
    """Writes the opt-out WaPipe recorded for the company's Person into Pipedrive; nothing for a Person the
    company has no opt-out of (the job never writes what its own records do not say)."""
    deps = job_deps(ctx)
    if not (await SqlOptOutStore(deps.engine).opt_outs(company_id)).covers(None, person_id):
        return f"person {person_id} has not opted out here: nothing written"
    try:
        pipedrive = await campaign_pipedrive(deps, company_id)
        await pipedrive.mark_opted_out(person_id, when)
    except Transient as error:
        raise retry_for(ctx, error) from error
    return f"person {person_id} opted out"


async def note_short_replies(ctx: dict[str, Any], replies: Sequence[tuple[int, str, str]]) -> None:
    """Stop words among new short replies ((company id, number, text), as ingest collects them) become
    opt-outs. A reply that cannot be checked now (the database is busy) is checked by its own job, so the
    inbound job never fails for it and the opt-out is not lost (a redelivery would find it stored)."""
    if not replies:
        return
    deps = job_deps(ctx)
    for company_id, e164, text in replies:
        try:
            await _note(deps, company_id, e164, text)
        except Exception:  # logged, and left to its own job with retries
            log.exception("a reply from %s could not be checked for a stop word now", e164[:6])
            await deps.queue.enqueue(CHECK_REPLY_JOB, company_id, e164, text)


async def campaign_check_reply(ctx: dict[str, Any], company_id: int, e164: str, text: str) -> str:
    deps = job_deps(ctx)
    try:
        word = await _note(deps, company_id, e164, text)
    except Transient as error:
        raise retry_for(ctx, error) from error
    return "opted out" if word else "no stop word"


async def _note(deps: JobDeps, company_id: int, e164: str, text: str) -> str | None:
    opt_outs = SqlOptOutStore(deps.engine)
    now = deps.clock.now()
    return await note_reply(opt_outs, deps.queue, company_id, e164, text, now, SqlAuditLog(deps.engine))
