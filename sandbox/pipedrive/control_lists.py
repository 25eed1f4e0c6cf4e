"""`/_sandbox` controls for what Pipedrive's lists are made of: Organizations and saved filters.

- ``POST /_sandbox/companies/{cid}/organizations`` ``{name, address?, owner_id?, custom_fields?}`` → ``{id}``
- ``POST /_sandbox/companies/{cid}/filters`` ``{name, type: people|deals|org, conditions, user_id?,
  visible_to?}`` → the filter as ``GET /v1/filters/{id}`` shows it. ``conditions`` is Pipedrive's shape
  (``sandbox/pipedrive/filters.py`` says what the sandbox evaluates); a condition may name its field by
  ``field_key`` instead of ``field_id``. A filter the sandbox cannot evaluate is refused with 400 and the
  problem (``reason`` ``invalid_filter``).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from sandbox.pipedrive.filters import FilterProblem, field_id_for, new_filter
from sandbox.pipedrive.seed import seed_organization
from sandbox.pipedrive.state import SandboxState


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    body = json.loads(raw) if raw.strip() else {}
    if not isinstance(body, dict):
        raise FilterProblem("body must be a JSON object")
    return body


def _with_field_ids(state: SandboxState, company_id: int, conditions: Any) -> Any:
    """``conditions`` with every ``field_key`` turned into the field's ``field_id``."""
    if not isinstance(conditions, dict) or not isinstance(conditions.get("conditions"), list):
        return conditions
    data = state.company_data(company_id)
    for group in conditions["conditions"]:
        for item in group.get("conditions", []) if isinstance(group, dict) else []:
            if isinstance(item, dict) and "field_key" in item and "field_id" not in item:
                item["field_id"] = str(
                    field_id_for(data, str(item.get("object")), str(item.pop("field_key")))
                )
    return conditions


def list_routes(state: SandboxState) -> list[BaseRoute]:
    def company_id(request: Request) -> int:
        cid = int(request.path_params["company_id"])
        if cid not in state.companies:
            raise KeyError(f"company {cid} not found")
        return cid

    async def add_organization(request: Request) -> Response:
        body = await _body(request)
        organization = seed_organization(
            state,
            company_id(request),
            str(body["name"]),
            address=body.get("address"),
            owner_id=body.get("owner_id"),
            custom_fields=body.get("custom_fields"),
        )
        return JSONResponse({"id": organization["id"]}, status_code=201)

    async def add_filter(request: Request) -> Response:
        try:
            body = await _body(request)
            cid = company_id(request)
            users = sorted(u.id for u in state.company_users(cid))
            saved = new_filter(
                state,
                cid,
                str(body.get("name", "")),
                str(body.get("type", "")),
                _with_field_ids(state, cid, body.get("conditions")),
                user_id=int(body.get("user_id") or users[0]),
                visible_to=str(body.get("visible_to", "3")),
            )
        except FilterProblem as problem:
            return JSONResponse({"error": str(problem), "reason": "invalid_filter"}, status_code=400)
        shown = {
            **saved,
            "add_time": state.v1_time(saved["add_time"]),
            "update_time": state.v1_time(saved["update_time"]),
        }
        return JSONResponse(shown, status_code=201)

    return [
        Route("/_sandbox/companies/{company_id:int}/organizations", add_organization, methods=["POST"]),
        Route("/_sandbox/companies/{company_id:int}/filters", add_filter, methods=["POST"]),
    ]
