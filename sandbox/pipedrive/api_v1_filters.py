"""v1 saved filters (``GET /v1/filters``, ``GET /v1/filters/{id}``) and ``filter_id`` on the v2 lists.

A list with ``filter_id`` answers the records the filter matches (``sandbox/pipedrive/filters.py``), and
ignores ``ids``, ``owner_id`` and the other narrowing parameters, as Pipedrive documents. A filter the user
cannot see (unknown, deleted, or another user's private one) is 404 ``Filter not found``; a filter of
another kind (a deals filter on ``/persons``) is 400.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.filters import FILTER_TYPES, matcher, visible_filters
from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, bad_request, ok
from sandbox.pipedrive.payloads import query_int
from sandbox.pipedrive.state import Record

LIST_TYPES = ("deals", "leads", "org", "people", "products", "activity", "projects")


def filter_json(ctx: ApiContext, saved: Record, *, with_conditions: bool) -> dict[str, Any]:
    body = {k: v for k, v in saved.items() if k != "conditions"}
    body.update(
        add_time=ctx.state.v1_time(saved["add_time"]), update_time=ctx.state.v1_time(saved["update_time"])
    )
    if with_conditions:
        body["conditions"] = saved["conditions"]
    return body


async def list_filters(ctx: ApiContext) -> Response:
    wanted = ctx.query("type")
    if wanted is not None and wanted not in LIST_TYPES:
        raise ApiError(400, "Invalid input: type - must be one of " + ", ".join(LIST_TYPES))
    shown = visible_filters(ctx.data, ctx.user.id, wanted)
    return ok([filter_json(ctx, f, with_conditions=False) for f in shown])


async def get_filter(ctx: ApiContext) -> Response:
    saved = _visible(ctx, ctx.path_int())
    if saved is None:
        raise ApiError(404, "Filter not found")
    return ok(filter_json(ctx, saved, with_conditions=True))


def _visible(ctx: ApiContext, filter_id: int) -> Record | None:
    return next((f for f in visible_filters(ctx.data, ctx.user.id, None) if f["id"] == filter_id), None)


def filter_id_of(ctx: ApiContext) -> int | None:
    return query_int(ctx.query("filter_id"), "filter_id")


def filtered(ctx: ApiContext, filter_id: int, kind: str, records: list[Record]) -> list[Record]:
    """``records`` (of ``kind``: person, deal, organization) that the filter ``filter_id`` matches."""
    saved = _visible(ctx, filter_id)
    if saved is None:
        raise ApiError(404, "Filter not found", "ERR_NOT_FOUND")
    if FILTER_TYPES[saved["type"]] != kind:
        raise bad_request(f"Validation failed: filter_id: Filter {filter_id} is not a {kind} filter")
    matches = matcher(ctx.data, saved)
    return [r for r in records if matches(r)]


ENDPOINTS = [
    Endpoint("v1", "get", "/filters", list_filters),
    Endpoint("v1", "get", "/filters/{id}", get_filter),
]
