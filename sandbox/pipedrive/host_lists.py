"""Fake Pipedrive list views, ``/host/persons`` and ``/host/deals``, whose actions menu opens an app's custom
modal the way Pipedrive does (``static/host_list.js`` speaks the SDK protocol for it).

A list shows the viewer's company's Persons or Deals (at most ``MAX_ROWS``), with a checkbox per row, a
filter dropdown of the saved filters the viewer sees (``?filter_id=``, evaluated as the API does), and an
actions menu with "Send WhatsApp campaign". That action opens the custom modal (min 120 × 320, at most the
browser window) in an iframe whose URL carries, like Pipedrive's:

- ``id``, ``userId``, ``companyId``, ``token`` (a fresh HS256 JWT, as for panels), ``theme``;
- ``resource`` ``person`` or ``deal``, ``view`` ``list``;
- ``selectedIds``: the ticked rows' ids, comma-separated, in the list's order.

Pipedrive offers list actions only with something selected. The sandbox also offers the action when a
filter is shown and nothing is ticked, and then passes ``selectedIds`` empty and
``filter={"filter_id": N}`` (JSON): the reference documents no list-view parameter for filters, and this
lets an app tell "these records" from "whatever this filter matches" without guessing.

Query parameters, all optional: ``client_id``, ``user_id``, ``theme`` (as on the detail pages),
``filter_id``, and ``modal_url`` (default: the URL configured with ``configure_host_app(modal_url=...)``
or ``POST /_sandbox/host/apps``).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sandbox.pipedrive.filters import matcher, visible_filters
from sandbox.pipedrive.host import (
    PAGE_POLICY,
    TEMPLATES,
    HostApp,
    HostPageError,
    host_config_for,
    is_web_url,
    resolve_viewer,
)
from sandbox.pipedrive.state import CompanyData, Record, SandboxState

MAX_ROWS = 500  # the page shows the first ones; a filter reaches the rest
MODAL_MIN = {"height": 120, "width": 320}
FILTER_TYPE = {"person": "people", "deal": "deals"}
ACTION_NAME = "Send WhatsApp campaign"


def _rows(
    state: SandboxState, data: CompanyData, resource: str, records: list[Record]
) -> list[dict[str, Any]]:
    names = {u.id: u.name for u in state.users.values()}
    rows = []
    for record in records[:MAX_ROWS]:
        if resource == "person":
            organization = data.organizations.get(record.get("org_id") or 0)
            phones = [p.get("value", "") for p in record["phones"]]
            cells = [record["name"], ", ".join(phones), organization["name"] if organization else ""]
        else:
            person = data.persons.get(record.get("person_id") or 0)
            stage = data.stages.get(record.get("stage_id") or 0)
            amount = record.get("value") or 0
            value = f"{amount:,.2f}".removesuffix(".00") + f" {record['currency']}" if amount else ""
            cells = [record["title"], person["name"] if person else "", value, stage["name"] if stage else ""]
        cells.append(names.get(record.get("owner_id") or 0, ""))
        rows.append({"id": record["id"], "cells": cells})
    return rows


def _records(data: CompanyData, resource: str) -> list[Record]:
    if resource == "person":
        return sorted((p for p in data.persons.values() if not p["is_deleted"]), key=lambda p: p["id"])
    return sorted(
        (d for d in data.deals.values() if not d["is_deleted"] and not d["is_archived"]),
        key=lambda d: d["id"],
    )


def _list_page(state: SandboxState, request: Request, resource: str) -> Response:
    try:
        viewer = resolve_viewer(state, request)
    except HostPageError as error:
        return TEMPLATES.TemplateResponse(
            request, "host_error.html", {"message": error.message}, status_code=error.status
        )
    query = request.query_params
    data = state.company_data(viewer.user.company_id)
    filters = visible_filters(data, viewer.user.id, FILTER_TYPE[resource])
    raw_filter = query.get("filter_id", "")
    active = next((f for f in filters if raw_filter.isdigit() and f["id"] == int(raw_filter)), None)
    records = _records(data, resource)
    if active is not None:
        matches = matcher(data, active)
        records = [r for r in records if matches(r)]
    app = host_config_for(state).apps.get(viewer.client.client_id, HostApp())
    modal_url = query.get("modal_url") or app.modal_url or ""
    theme = "dark" if query.get("theme") == "dark" else "light"
    headers = (
        ["Name", "Phone", "Organization"] if resource == "person" else ["Title", "Person", "Value", "Stage"]
    )
    viewer_params = {"user_id": str(viewer.user.id), "client_id": viewer.client.client_id}
    context = {
        "resource": resource,
        "heading": "People" if resource == "person" else "Deals",
        "headers": [*headers, "Owner"],
        "rows": _rows(state, data, resource, records),
        "total": len(records),
        "max_rows": MAX_ROWS,
        "filters": filters,
        "active_filter": active,
        "action_name": ACTION_NAME,
        "modal_url": modal_url if is_web_url(modal_url) else "",
        "modal_base": json.dumps(
            {
                "userId": str(viewer.user.id),
                "companyId": str(viewer.user.company_id),
                "resource": resource,
                "view": "list",
            }
        ),
        "client": viewer.client,
        "user": viewer.user,
        "company": state.companies.get(viewer.user.company_id),
        "users": sorted(state.users.values(), key=lambda u: u.id),
        "theme": theme,
        "min_height": MODAL_MIN["height"],
        "min_width": MODAL_MIN["width"],
        "init_timeout_ms": 10_000,
        "token_url": "/host/token?" + urlencode(viewer_params),
        "kept_params": [(k, v) for k, v in query.items() if k not in ("user_id", "filter_id")],
        "switch_params": [(k, v) for k, v in query.items() if k != "filter_id"],
    }
    response = TEMPLATES.TemplateResponse(request, "host_list.html", context)
    response.headers["Content-Security-Policy"] = PAGE_POLICY
    return response


def list_page_routes(state: SandboxState) -> list[BaseRoute]:
    """``/host/persons`` and ``/host/deals`` (also at ``/persons/list`` and ``/deals/list``, where
    Pipedrive's web app has its lists)."""

    async def persons(request: Request) -> Response:
        return _list_page(state, request, "person")

    async def deals(request: Request) -> Response:
        return _list_page(state, request, "deal")

    return [
        Route("/host/persons", persons, methods=["GET"]),
        Route("/host/deals", deals, methods=["GET"]),
        Route("/persons/list", persons, methods=["GET"]),
        Route("/deals/list", deals, methods=["GET"]),
    ]
