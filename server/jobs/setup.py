"""``setup_company``: what the first admin install creates in Pipedrive, found again on every later run.

- the activity type "WhatsApp chat" (icon ``bubble``, colour 25D366), reactivated if someone deactivated it;
- the custom field "WhatsApp chat link" (``varchar``) on Person and on Deal, matched by name;
- the company's settings row (defaults) holding the activity type's ``key_string`` and both field keys.

Idempotent: it looks before it creates, so a second run (a retry, a reinstall) creates nothing. Job id
``setup:<company id>``.
"""

from __future__ import annotations

import logging
from typing import Any

from server.domain.errors import NeedsReauth, NotInstalled, Transient
from server.jobs.retry import retry_for
from server.pipedrive.client import PipedriveClient
from server.pipedrive.company_records import ensure_activity_type, ensure_link_field
from server.pipedrive.connector import PipedriveConnector
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


async def setup_company(ctx: dict[str, Any], company_id: int) -> str:
    connector: PipedriveConnector | None = ctx.get("pipedrive")
    if connector is None:
        raise RuntimeError("the job context has no Pipedrive connector (ctx['pipedrive'])")
    store: SqlCompanySetupStore = ctx["company_setup"]
    try:
        client = await connector.for_company(company_id)
        await run_setup(client, store, company_id)
    except (NotInstalled, NeedsReauth) as error:
        # Only an admin installation can set up; the next admin install enqueues setup again.
        log.warning("company setup waits for an admin", extra={"company": company_id, "reason": error.reason})
        return error.reason
    except Transient as error:
        log.warning("company setup will retry", extra={"company": company_id, "reason": error.reason})
        raise retry_for(ctx, error) from error
    log.info("company set up", extra={"company": company_id})
    return "set up"
