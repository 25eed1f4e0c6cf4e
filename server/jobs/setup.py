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
from server.pipedrive.activities import IconKey
from server.pipedrive.client import PipedriveClient
from server.pipedrive.connector import PipedriveConnector
from server.pipedrive.fields import Entity
from server.pipedrive.records import ActivityType
from server.storage.company_setup import SqlCompanySetupStore

log = logging.getLogger(__name__)

ACTIVITY_TYPE_NAME = "WhatsApp chat"
ACTIVITY_TYPE_ICON: IconKey = "bubble"
ACTIVITY_TYPE_COLOR = "25D366"
LINK_FIELD_NAME = "WhatsApp chat link"
SETUP_JOB = "setup_company"


def setup_job_id(company_id: int) -> str:
    return f"setup:{company_id}"


async def ensure_activity_type(client: PipedriveClient) -> str:
    """The "WhatsApp chat" type's ``key_string``: found (and reactivated) or created."""
    wanted = ACTIVITY_TYPE_NAME.casefold()
    matches = [t for t in await client.activities.types() if t.name.strip().casefold() == wanted]
    found = _preferred_type(matches)
    if found is None:
        created = await client.activities.create_type(
            ACTIVITY_TYPE_NAME, ACTIVITY_TYPE_ICON, ACTIVITY_TYPE_COLOR
        )
        return created.key_string
    if not found.active:
        # The client has no typed call for this one-off: PUT /api/v1/activityTypes/{id} (admin scope).
        await client.api.data("PUT", f"/api/v1/activityTypes/{found.id}", json={"active_flag": True})
    return found.key_string


def _preferred_type(matches: list[ActivityType]) -> ActivityType | None:
    """An active custom type first, then any active one, then the earliest inactive one."""
    ranked = sorted(matches, key=lambda t: (not t.active, not t.is_custom, t.id))
    return ranked[0] if ranked else None


async def ensure_link_field(client: PipedriveClient, entity: Entity) -> str:
    """The key of the "WhatsApp chat link" field on ``entity``: found by name or created."""
    wanted = LINK_FIELD_NAME.casefold()
    fields = await client.fields.all(entity)
    found = sorted(
        (f for f in fields if f.name.strip().casefold() == wanted and f.code),
        key=lambda f: (not f.is_custom, f.code),
    )
    if found:
        return found[0].code
    return (await client.fields.create(entity, LINK_FIELD_NAME, "varchar")).code


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
