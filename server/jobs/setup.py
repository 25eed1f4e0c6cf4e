"""``setup_company``: what the first admin install creates in Pipedrive, found again on every later run.

- the activity type "WhatsApp chat" (icon ``bubble``, colour 25D366), reactivated if someone deactivated it;
- the custom field "WhatsApp chat link" (``varchar``) on Person and on Deal, matched by name;
- the company's settings row (defaults) holding the activity type's ``key_string`` and both field keys;
- an app webhook for every change of a Person (``POST /webhooks/pipedrive``, HTTP Basic credentials
  derived for the company), so merges, deletions and phone edits are followed as they happen. It needs the
  ``admin`` scope and an admin's installation; without them setup goes on and logs the named reason
  (``admin_scope_missing``, ``not_admin``): Person changes are then followed by re-checks only (the
  index's refreshes and the sync's fallback when a write finds its Person deleted).

Idempotent: it looks before it creates, so a second run (a retry, a reinstall) creates nothing. Job id
``setup:<company id>``.
"""

from __future__ import annotations

import logging
from typing import Any

from server.domain.errors import NeedsReauth, NotInstalled, Permanent, Transient
from server.domain.person_events import WEBHOOK_USER, webhook_password
from server.jobs.deps import job_deps
from server.jobs.retry import retry_for
from server.pipedrive.client import PipedriveClient
from server.pipedrive.company_records import ensure_activity_type, ensure_link_field
from server.pipedrive.person_webhook import ensure_person_webhook
from server.storage.company_setup import SqlCompanySetupStore

log = logging.getLogger(__name__)

SETUP_JOB = "setup_company"


def setup_job_id(company_id: int) -> str:
    return f"setup:{company_id}"


async def run_setup(client: PipedriveClient, store: SqlCompanySetupStore, company_id: int) -> None:
    await store.ensure_defaults(company_id)
    activity_type_key = await ensure_activity_type(client)
    person_key = await ensure_link_field(client, "person")
    deal_key = await ensure_link_field(client, "deal")
    await store.record(
        company_id,
        activity_type_key=activity_type_key,
        person_link_field_key=person_key,
        deal_link_field_key=deal_key,
    )


async def subscribe_person_webhook(ctx: dict[str, Any], client: PipedriveClient, company_id: int) -> str:
    """``created``, ``exists``, ``replaced`` (its credentials were not the current ones), or the named
    reason it was skipped (logged)."""
    deps = job_deps(ctx)
    config = deps.person_webhook
    if config is None:
        return "not_configured"
    if deps.installations is None:
        raise RuntimeError("the jobs' dependencies hold no installation store (JobDeps.installations)")
    installation = await deps.installations.admin_installation(company_id)
    company = await deps.companies.by_id(company_id)
    reason = ""
    if installation is None or not installation.is_admin:
        reason = "not_admin"
    elif "admin" not in installation.scopes:
        reason = "admin_scope_missing"
    elif company is None:
        reason = "unknown_company"
    if reason or installation is None or company is None:
        log.warning(
            "Person changes are followed by re-checks only: no webhook",
            extra={"company": company_id, "reason": reason},
        )
        return reason
    password = webhook_password(config.secret, company.pipedrive_company_id)
    try:
        return await ensure_person_webhook(
            client,
            url=config.url,
            credentials=(WEBHOOK_USER, password),
            user_id=installation.pipedrive_user_id,
        )
    except Transient:
        raise
    except Permanent as error:  # a refused webhook (the 40 per user, a scope) leaves the rest of setup
        log.warning(
            "Person changes are followed by re-checks only: the webhook was refused",
            extra={"company": company_id, "reason": error.reason},
        )
        return error.reason


async def setup_company(ctx: dict[str, Any], company_id: int) -> str:
    deps = job_deps(ctx)
    connector, store = deps.pipedrive, deps.company_setup
    if connector is None or store is None:
        raise RuntimeError(
            "the jobs' dependencies hold no Pipedrive connector (JobDeps.pipedrive, company_setup)"
        )
    try:
        client = await connector.for_company(company_id)
        await run_setup(client, store, company_id)
        webhook = await subscribe_person_webhook(ctx, client, company_id)
    except (NotInstalled, NeedsReauth) as error:
        # Only an admin installation can set up; the next admin install enqueues setup again.
        log.warning("company setup waits for an admin", extra={"company": company_id, "reason": error.reason})
        return error.reason
    except Transient as error:
        log.warning("company setup will retry", extra={"company": company_id, "reason": error.reason})
        raise retry_for(ctx, error) from error
    log.info("company set up", extra={"company": company_id, "person_webhook": webhook})
    return f"set up; person webhook: {webhook}"
