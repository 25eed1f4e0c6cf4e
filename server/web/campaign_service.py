"""The campaign pages' access to the campaign service (``server.services.campaigns.Campaigns``, built for
the web process by the job layer's ``campaigns_for``) and the progress view they all show: the progress
with the campaign's own audit entries (who created, started, paused, resumed or cancelled it).
"""

from __future__ import annotations

from starlette.requests import Request

from panels.campaigns import AUDIT_TITLES, AuditView, ProgressView, progress_view
from panels.settings import user_label
from server.jobs.campaigns import campaigns_for
from server.jobs.context import job_deps_for, job_timings
from server.services.campaigns import Campaigns
from server.storage.audit import SqlAuditLog
from server.web.cloud_templates import template_cache
from server.web.frame_auth import FrameIdentity
from server.web.resources import Resources

AUDIT_READ = 500  # a campaign's history is a handful of entries: start, pauses, resumes, the end
RECENT_RECIPIENTS = 20


def resources_of(request: Request) -> Resources:
    resources: Resources = request.app.state.resources
    return resources


def campaign_service(request: Request) -> Campaigns:
    """Over the web process's stores, queue, clock, numbers and Pipedrive, as the jobs have them; Meta's
    approved templates through the same cache as the template pickers."""
    resources = resources_of(request)
    deps = job_deps_for(
        resources.engine,
        queue=resources.queue,
        kind="web",
        transports=resources.transports,
        pipedrive=resources.pipedrive,
        timings=job_timings(resources.settings),
        clock=resources.clock,
        metrics=resources.metrics,
    )
    return campaigns_for(deps, approved_cache=template_cache(request))  # the pickers' approved templates


async def campaign_audit(request: Request, company_id: int, campaign_id: int) -> tuple[AuditView, ...]:
    """Oldest first: created, started, paused, resumed, cancelled, each with who did it."""
    resources = resources_of(request)
    about = f"campaign {campaign_id}"  # how the campaign service names it
    entries = await SqlAuditLog(resources.engine).recent(company_id, AUDIT_READ, subject=about)
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
        if e.action in AUDIT_TITLES
    )


async def campaign_progress_view(request: Request, identity: FrameIdentity, campaign_id: int) -> ProgressView:
    """``NotFound`` (``unknown_campaign``) for a campaign of another company, or none."""
    company_id = identity.company.id
    progress = await campaign_service(request).progress(company_id, campaign_id, recent=RECENT_RECIPIENTS)
    audit = await campaign_audit(request, company_id, campaign_id)
    return progress_view(progress, resources_of(request).settings.progress_poll, audit)
