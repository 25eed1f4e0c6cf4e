"""v2 deals (with pipeline/stage defaulting, archived deals left out of lists), pipelines and stages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.api_v1_filters import filter_id_of, filtered
from sandbox.pipedrive.api_v2_persons import ids_filter, sort_records, time_window
from sandbox.pipedrive.fields import check_custom_values
from sandbox.pipedrive.gateway import ApiContext, Endpoint, bad_request, not_found, ok
from sandbox.pipedrive.paging import cursor_page
from sandbox.pipedrive.payloads import V2Body, query_int
from sandbox.pipedrive.state import Record

DEAL_WRITABLE = (
    "title",
    "owner_id",
    "person_id",
    "org_id",
    "pipeline_id",
    "stage_id",
    "value",
    "currency",
    "status",
    "is_archived",
    "probability",
    "lost_reason",
    "visible_to",
    "expected_close_date",
    "label_ids",
    "custom_fields",
)
DEAL_READONLY = {"id": "", "add_time": "", "update_time": "", "is_deleted": "Use DELETE to delete a deal."}
DEAL_NULLABLE = (
    "probability",
    "lost_reason",
    "close_time",
    "origin_id",
    "channel",
    "channel_id",
    "source_lead_id",
    "arr",
    "mrr",
    "acv",
)
STATUSES = ("open", "won", "lost")


def _t(ctx: ApiContext, value: datetime | None) -> str | None:
    return ctx.state.rfc3339(value) if value is not None else None


def deal_json(ctx: ApiContext, deal: Record) -> dict[str, Any]:
    body = {k: v for k, v in deal.items() if k not in ("add_time", "update_time", "stage_change_time")}
    body.update(
        add_time=_t(ctx, deal["add_time"]),
        update_time=_t(ctx, deal["update_time"]),
        stage_change_time=_t(ctx, deal["stage_change_time"]),
        close_time=_t(ctx, deal["close_time"]),
        won_time=_t(ctx, deal["won_time"]),
        lost_time=_t(ctx, deal["lost_time"]),
        label_ids=list(deal["label_ids"]),
        custom_fields=dict(deal["custom_fields"]),
    )
    return ctx.shape(body, DEAL_NULLABLE)


def default_stage(ctx: ApiContext, pipeline_id: int | None) -> Record:
    pipelines = sorted(
        (p for p in ctx.data.pipelines.values() if not p["is_deleted"]),
        key=lambda p: (p["order_nr"], p["id"]),
    )
    if pipeline_id is None:
        if not pipelines:
            raise bad_request("Validation failed: pipeline_id: The company has no pipeline")
        pipeline_id = pipelines[0]["id"]
    elif pipeline_id not in {p["id"] for p in pipelines}:
        raise bad_request(f"Validation failed: pipeline_id: Pipeline with id {pipeline_id} not found")
    stages = sorted(
        (s for s in ctx.data.stages.values() if s["pipeline_id"] == pipeline_id and not s["is_deleted"]),
        key=lambda s: (s["order_nr"], s["id"]),
    )
    if not stages:
        raise bad_request(f"Validation failed: pipeline_id: Pipeline {pipeline_id} has no stages")
    return stages[0]


def _apply(ctx: ApiContext, deal: Record, body: V2Body, *, creating: bool) -> None:
    now = ctx.state.clock.now()
    if body.has("title"):
        title = body.string("title", required=True)
        deal["title"] = title
    stage_id, pipeline_id = body.integer("stage_id"), body.integer("pipeline_id")
    if stage_id is not None:
        stage = ctx.data.stages.get(stage_id)
        if stage is None or stage["is_deleted"]:
            raise bad_request(f"Validation failed: stage_id: Stage with id {stage_id} not found")
    elif creating or pipeline_id is not None:
        stage = default_stage(ctx, pipeline_id)
    else:
        stage = None
    if stage is not None and stage["id"] != deal.get("stage_id"):
        deal.update(stage_id=stage["id"], pipeline_id=stage["pipeline_id"], stage_change_time=now)
    for key in ("person_id", "org_id"):
        if body.has(key):
            value = body.integer(key, nullable=True)
            if key == "person_id" and value is not None:
                person = ctx.data.persons.get(value)
                if person is None or person["is_deleted"]:
                    raise bad_request(f"Validation failed: person_id: Person with id {value} not found")
            deal[key] = value
    owner_id = body.integer("owner_id")
    if owner_id is not None:
        owner = ctx.state.users.get(owner_id)
        if owner is None or owner.company_id != ctx.company.id:
            raise bad_request(f"Validation failed: owner_id: User with id {owner_id} not found")
        deal["owner_id"] = owner_id
    amount = body.number("value")
    if amount is not None:
        deal["value"] = amount
    for key in ("currency", "lost_reason"):
        if body.has(key):
            deal[key] = body.string(key)
    if body.has("probability"):
        deal["probability"] = body.number("probability")
    visible_to = body.integer("visible_to")
    if visible_to is not None:
        deal["visible_to"] = visible_to
    if body.has("expected_close_date"):
        deal["expected_close_date"] = body.date("expected_close_date")
    labels = body.int_list("label_ids")
    if labels is not None:
        deal["label_ids"] = labels
    archived = body.boolean("is_archived")
    if archived is not None:
        deal["is_archived"] = archived
    status = body.string("status")
    if status is not None:
        if status not in STATUSES:
            raise bad_request("Validation failed: status: Must be one of open, won, lost")
        if status != deal["status"]:
            deal.update(status=status, won_time=None, lost_time=None, close_time=None)
            if status != "open":
                deal.update({f"{status}_time": now, "close_time": now})
    custom = body.obj("custom_fields")
    if custom is not None:
        values = check_custom_values(ctx.data.deal_fields, custom, strict=True)
        merged = {**deal["custom_fields"], **values}
        deal["custom_fields"] = {k: v for k, v in merged.items() if v is not None}


def new_deal(now: datetime, owner_id: int, title: str) -> Record:
    return {
        "id": 0,
        "title": title,
        "owner_id": owner_id,
        "person_id": None,
        "org_id": None,
        "pipeline_id": None,
        "stage_id": None,
        "value": 0.0,
        "currency": "EUR",
        "add_time": now,
        "update_time": now,
        "stage_change_time": None,
        "is_deleted": False,
        "is_archived": False,
        "status": "open",
        "probability": None,
        "lost_reason": None,
        "visible_to": 3,
        "close_time": None,
        "won_time": None,
        "lost_time": None,
        "expected_close_date": None,
        "label_ids": [],
        "origin": "API",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "source_lead_id": None,
        "arr": None,
        "mrr": None,
        "acv": None,
        "custom_fields": {},
    }


def live_deal(ctx: ApiContext, deal_id: int) -> Record:
    deal = ctx.data.deals.get(deal_id)
    if deal is None or deal["is_deleted"]:
        raise not_found("Deal")
    return deal


async def create_deal(ctx: ApiContext) -> Response:
    body = V2Body(await ctx.json_object(), writable=DEAL_WRITABLE, readonly=DEAL_READONLY)
    title = body.string("title", required=True)
    assert title is not None
    deal = new_deal(ctx.state.clock.now(), ctx.user.id, title)
    _apply(ctx, deal, body, creating=True)
    deal["id"] = ctx.state.next_id("deal", ctx.company.id)
    ctx.data.deals[deal["id"]] = deal
    return ok(deal_json(ctx, deal))


async def get_deal(ctx: ApiContext) -> Response:
    deal = ctx.data.deals.get(ctx.path_int())
    if deal is None:
        raise not_found("Deal")
    return ok(deal_json(ctx, deal))


async def update_deal(ctx: ApiContext) -> Response:
    deal = live_deal(ctx, ctx.path_int())
    body = V2Body(await ctx.json_object(), writable=DEAL_WRITABLE, readonly=DEAL_READONLY)
    _apply(ctx, deal, body, creating=False)
    deal["update_time"] = ctx.state.clock.now()
    return ok(deal_json(ctx, deal))


async def delete_deal(ctx: ApiContext) -> Response:
    deal = live_deal(ctx, ctx.path_int())
    deal.update(is_deleted=True, update_time=ctx.state.clock.now())
    return ok({"id": deal["id"]})


async def list_deals(ctx: ApiContext) -> Response:
    raw_status = ctx.query("status")
    statuses = {s.strip() for s in raw_status.split(",")} if raw_status else set(STATUSES)
    if statuses - {*STATUSES, "deleted"}:
        raise bad_request("Validation failed: status: Must be open, won, lost or deleted")
    deals = [
        d
        for d in ctx.data.deals.values()
        if not d["is_archived"] and ("deleted" in statuses if d["is_deleted"] else d["status"] in statuses)
    ]
    filter_id = filter_id_of(ctx)
    if filter_id is not None:  # Pipedrive ignores ids, person_id, owner_id and the rest beside a filter
        deals = filtered(ctx, filter_id, "deal", deals)
    else:
        for name in ("person_id", "pipeline_id", "stage_id", "owner_id", "org_id"):
            wanted = query_int(ctx.query(name), name)
            if wanted is not None:
                deals = [d for d in deals if d[name] == wanted]
        ids = ids_filter(ctx.query("ids"))
        if ids is not None:
            deals = [d for d in deals if d["id"] in ids]
    deals = sort_records(ctx, time_window(ctx, deals), ("id", "update_time", "add_time"))
    page, additional = cursor_page(ctx, deals)
    return ok([deal_json(ctx, d) for d in page], additional)


def _pipeline_json(ctx: ApiContext, pipeline: Record) -> dict[str, Any]:
    return {
        **pipeline,
        "add_time": ctx.state.rfc3339(pipeline["add_time"]),
        "update_time": ctx.state.rfc3339(pipeline["update_time"]),
    }


def _stage_json(ctx: ApiContext, stage: Record) -> dict[str, Any]:
    body = {
        **stage,
        "add_time": ctx.state.rfc3339(stage["add_time"]),
        "update_time": ctx.state.rfc3339(stage["update_time"]),
    }
    return ctx.shape(body, ("days_to_rotten",))


async def list_pipelines(ctx: ApiContext) -> Response:
    pipelines = sorted(ctx.data.pipelines.values(), key=lambda p: p["id"])
    page, additional = cursor_page(ctx, [p for p in pipelines if not p["is_deleted"]])
    return ok([_pipeline_json(ctx, p) for p in page], additional)


async def get_pipeline(ctx: ApiContext) -> Response:
    pipeline = ctx.data.pipelines.get(ctx.path_int())
    if pipeline is None:
        raise not_found("Pipeline")
    return ok(_pipeline_json(ctx, pipeline))


async def list_stages(ctx: ApiContext) -> Response:
    stages = [s for s in ctx.data.stages.values() if not s["is_deleted"]]
    pipeline_id = query_int(ctx.query("pipeline_id"), "pipeline_id")
    if pipeline_id is not None:
        stages = [s for s in stages if s["pipeline_id"] == pipeline_id]
    stages = sort_records(ctx, stages, ("id", "update_time", "add_time", "order_nr"))
    page, additional = cursor_page(ctx, stages)
    return ok([_stage_json(ctx, s) for s in page], additional)


async def get_stage(ctx: ApiContext) -> Response:
    stage = ctx.data.stages.get(ctx.path_int())
    if stage is None:
        raise not_found("Stage")
    return ok(_stage_json(ctx, stage))


ENDPOINTS = [
    Endpoint("v2", "get", "/deals", list_deals),
    Endpoint("v2", "post", "/deals", create_deal),
    Endpoint("v2", "get", "/deals/{id}", get_deal),
    Endpoint("v2", "patch", "/deals/{id}", update_deal),
    Endpoint("v2", "delete", "/deals/{id}", delete_deal),
    Endpoint("v2", "get", "/pipelines", list_pipelines),
    Endpoint("v2", "get", "/pipelines/{id}", get_pipeline),
    Endpoint("v2", "get", "/stages", list_stages),
    Endpoint("v2", "get", "/stages/{id}", get_stage),
]
