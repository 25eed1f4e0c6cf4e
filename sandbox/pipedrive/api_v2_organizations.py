"""v2 organizations, read only: list (``ids``, ``owner_id``, ``filter_id``, cursor paging) and get.

Organizations come from seeding (``seed_organization``); the sandbox has no API to create them, as WaPipe
never does. ``address`` is the object v2 answers (``{"value": ...}``); the filter evaluator compares its
``value``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.api_v1_filters import filter_id_of, filtered
from sandbox.pipedrive.api_v2_persons import ids_filter, sort_records, time_window
from sandbox.pipedrive.gateway import ApiContext, Endpoint, not_found, ok
from sandbox.pipedrive.paging import cursor_page
from sandbox.pipedrive.payloads import query_int
from sandbox.pipedrive.state import Record

ORG_NULLABLE = ("website", "linkedin", "industry", "annual_revenue", "employee_count")


def new_organization(now: datetime, owner_id: int, name: str, address: str | None = None) -> Record:
    return {
        "id": 0,
        "name": name,
        "owner_id": owner_id,
        "add_time": now,
        "update_time": now,
        "is_deleted": False,
        "visible_to": 3,
        "address": {"value": address} if address else None,
        "label_ids": [],
        "website": None,
        "linkedin": None,
        "industry": None,
        "annual_revenue": None,
        "employee_count": None,
        "custom_fields": {},
    }


def organization_json(ctx: ApiContext, organization: Record) -> dict[str, Any]:
    body = dict(organization)
    body.update(
        add_time=ctx.state.rfc3339(organization["add_time"]),
        update_time=ctx.state.rfc3339(organization["update_time"]),
        label_ids=list(organization["label_ids"]),
        custom_fields=dict(organization["custom_fields"]),
    )
    return ctx.shape(body, ORG_NULLABLE)


async def list_organizations(ctx: ApiContext) -> Response:
    organizations = [o for o in ctx.data.organizations.values() if not o["is_deleted"]]
    filter_id = filter_id_of(ctx)
    if filter_id is not None:
        organizations = filtered(ctx, filter_id, "organization", organizations)
    else:
        ids = ids_filter(ctx.query("ids"))
        if ids is not None:
            organizations = [o for o in organizations if o["id"] in ids]
        owner_id = query_int(ctx.query("owner_id"), "owner_id")
        if owner_id is not None:
            organizations = [o for o in organizations if o["owner_id"] == owner_id]
    organizations = sort_records(ctx, time_window(ctx, organizations), ("id", "update_time", "add_time"))
    page, additional = cursor_page(ctx, organizations)
    return ok([organization_json(ctx, o) for o in page], additional)


async def get_organization(ctx: ApiContext) -> Response:
    organization = ctx.data.organizations.get(ctx.path_int())
    if organization is None:
        raise not_found("Organization")
    return ok(organization_json(ctx, organization))


ENDPOINTS = [
    Endpoint("v2", "get", "/organizations", list_organizations),
    Endpoint("v2", "get", "/organizations/{id}", get_organization),
]
