"""The campaign pages' access to the campaign service (``server.services.campaigns.Campaigns``, built for
the web process by the job layer's ``campaigns_for``) and the progress view they all show: the progress
with the campaign's own audit entries (who created, started, paused, resumed or cancelled it).
"""

from __future__ import annotations

from starlette.requests import Request

from panels.campaigns import AUDIT_TITLES, AuditView, ProgressView, progress_view
from panels.settings import user_label
from server.domain.ports.recipients import RecipientSource
from server.pipedrive.recipients import recipients_for
from server.services.campaigns import CampaignPorts, Campaigns
from server.storage.accounts import SqlAccountStore
from server.storage.audit import AuditEntry, SqlAuditLog
from server.storage.campaigns import SqlCampaignStore
from server.storage.company_settings import SqlCompanySettingsStore
from server.storage.opt_outs import SqlContactHistory, SqlOptOutStore
from server.storage.outbox import SqlOutboxStore
from server.web.frame_auth import FrameIdentity
from server.web.resources import Resources

AUDIT_READ = 500  # the company's recent entries a campaign's history is looked for in
RECENT_RECIPIENTS = 20


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def campaign_service(request: Request) -> Campaigns:
    """Over the web process's stores, queue, clock, numbers and Pipedrive, as the jobs have them."""
    resources = resources_of(request)
    engine = resources.engine
    settings = SqlCompanySettingsStore(engine)

    async def excluded(company_id: int) -> frozenset[str]:
        return frozenset((await settings.get(company_id)).excluded_numbers)

    async def pipedrive(company_id: int) -> RecipientSource:
        return await recipients_for(resources.pipedrive.connector, company_id)

    return Campaigns(
        CampaignPorts(
            store=SqlCampaignStore(engine),
            opt_outs=SqlOptOutStore(engine),
            history=SqlContactHistory(engine),
            accounts=SqlAccountStore(engine),
            outbox=SqlOutboxStore(engine),
            queue=resources.queue,
            clock=resources.clock,
            recipients_for=pipedrive,
            excluded_numbers=excluded,
            transports=dict(resources.transports),
            audit=SqlAuditLog(engine),
        )
    )


def is_about(entry: AuditEntry, campaign_id: int) -> bool:
    """An audit entry of this campaign: its id in the details or as the subject."""
    if entry.action not in AUDIT_TITLES:
        return False
    named = entry.details.get("campaign_id", entry.details.get("campaign"))
    return str(named) == str(campaign_id) or entry.subject in (str(campaign_id), f"campaign:{campaign_id}")


async def campaign_audit(request: Request, company_id: int, campaign_id: int) -> tuple[AuditView, ...]:
    """Oldest first: created, started, paused, resumed, cancelled, each with who did it."""
    resources = resources_of(request)
    entries = await SqlAuditLog(resources.engine).recent(company_id, AUDIT_READ)
    installations = await resources.pipedrive.installations.for_company(company_id)
    names = {i.pipedrive_user_id: i.name or i.email for i in installations}
    return tuple(
        AuditView(
            e.action,
            AUDIT_TITLES[e.action],
            names.get(e.actor_user_id) or user_label(e.actor_user_id),
            e.created_at,
        )
        for e in reversed(entries)
        if is_about(e, campaign_id)
    )


async def campaign_progress_view(request: Request, identity: FrameIdentity, campaign_id: int) -> ProgressView:
    """``NotFound`` (``unknown_campaign``) for a campaign of another company, or none."""
    company_id = identity.company.id
    progress = await campaign_service(request).progress(company_id, campaign_id, recent=RECENT_RECIPIENTS)
    audit = await campaign_audit(request, company_id, campaign_id)
    return progress_view(progress, resources_of(request).settings.progress_poll, audit)
