"""v1 leads (UUID ids, 201 on create, person or organization required) and lead labels."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, ok
from sandbox.pipedrive.paging import offset_page
from sandbox.pipedrive.payloads import parse_rfc3339, query_int
from sandbox.pipedrive.state import Record

LABEL_COLORS = ("blue", "brown", "dark-gray", "gray", "green", "orange", "pink", "purple", "red", "yellow")
LEAD_WRITABLE = (
    "title",
    "owner_id",
    "label_ids",
    "person_id",
    "organization_id",
    "value",
    "expected_close_date",
    "visible_to",
    "was_seen",
    "origin_id",
    "channel",
    "channel_id",
    "is_archived",
)
LEAD_NULLABLE = (
    "person_id",
    "organization_id",
    "origin_id",
    "channel",
    "channel_id",
    "source_deal_id",
    "value",
    "expected_close_date",
    "next_activity_id",
)


def _invalid(message: str) -> ApiError:
    return ApiError(400, f"Validation failed: {message}")


def lead_json(ctx: ApiContext, lead: Record) -> dict[str, Any]:
    body = {
        **lead,
        "label_ids": list(lead["label_ids"]),
        "value": dict(lead["value"]) if lead["value"] else None,
        "add_time": _iso_ms(lead["add_time"]),
        "update_time": _iso_ms(lead["update_time"]),
    }
    return ctx.shape(body, LEAD_NULLABLE)


def _iso_ms(value: Any) -> str:
    return str(value.strftime("%Y-%m-%dT%H:%M:%S.000Z"))


def _int(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(f"{name}: Expected number")
    return value


def _apply(ctx: ApiContext, lead: Record, body: dict[str, Any]) -> None:
    unknown = set(body) - set(LEAD_WRITABLE)
    if unknown:
        raise _invalid(f"Unknown field(s): {', '.join(sorted(unknown))}")
    if "title" in body:
        if not isinstance(body["title"], str) or not body["title"].strip():
            raise _invalid("title: Required and must be a non-empty string")
        lead["title"] = body["title"]
    for name in ("person_id", "organization_id"):
        if name in body:
            value = _int(body, name)
            if name == "person_id" and value is not None:
                person = ctx.data.persons.get(value)
                if person is None or person["is_deleted"]:
                    raise ApiError(404, f"Person with id {value} not found")
            lead[name] = value
    owner_id = _int(body, "owner_id")
    if owner_id is not None:
        owner = ctx.state.users.get(owner_id)
        if owner is None or owner.company_id != ctx.company.id:
            raise _invalid(f"owner_id: User with id {owner_id} not found")
        lead["owner_id"] = owner_id
    if "label_ids" in body:
        labels = body["label_ids"]
        if not isinstance(labels, list) or any(l not in ctx.data.lead_labels for l in labels):  # noqa: E741
            raise _invalid("label_ids: Unknown lead label")
        lead["label_ids"] = list(labels)
    if "value" in body:
        money = body["value"]
        if money is not None:
            amount = money.get("amount") if isinstance(money, dict) else None
            currency = money.get("currency") if isinstance(money, dict) else None
            if (
                isinstance(amount, bool)
                or not isinstance(amount, int | float)
                or not isinstance(currency, str)
            ):
                raise _invalid("value: Both amount (number) and currency (string) are required")
            money = {"amount": amount, "currency": currency}
        lead["value"] = money
    if "visible_to" in body:
        if body["visible_to"] not in ("1", "3", "5", "7"):
            raise _invalid("visible_to: Must be one of '1', '3', '5', '7' (string)")
        lead["visible_to"] = body["visible_to"]
    for name in ("was_seen", "is_archived"):
        if name in body:
            if not isinstance(body[name], bool):
                raise _invalid(f"{name}: Expected boolean")
            lead[name] = body[name]
    for name in ("expected_close_date", "origin_id", "channel_id"):
        if name in body:
            lead[name] = body[name]
    if "channel" in body:
        lead["channel"] = _int(body, "channel")
    if lead["person_id"] is None and lead["organization_id"] is None:
        raise _invalid("A lead must be linked to a person or an organization")


async def create_lead(ctx: ApiContext) -> Response:
    body = await ctx.json_object()
    if "title" not in body:
        raise _invalid("title: Required")
    now = ctx.state.clock.now()
    lead: Record = {
        "id": ctx.state.next_uuid("lead"),
        "title": "",
        "owner_id": ctx.user.id,
        "creator_id": ctx.user.id,
        "label_ids": [],
        "person_id": None,
        "organization_id": None,
        "source_name": "API",
        "origin": "API",
        "origin_id": None,
        "channel": None,
        "channel_id": None,
        "source_deal_id": None,
        "is_archived": False,
        "was_seen": False,
        "value": None,
        "expected_close_date": None,
        "next_activity_id": None,
        "add_time": now,
        "update_time": now,
        "visible_to": "3",
        "cc_email": f"{ctx.company.domain}+{ctx.company.id}+lead@sandbox.pipedrivemail.com",
    }
    _apply(ctx, lead, body)
    ctx.data.leads[lead["id"]] = lead
    return ok(lead_json(ctx, lead), status=201)


def _lead(ctx: ApiContext) -> Record:
    lead = ctx.data.leads.get(ctx.path_str())
    if lead is None:
        raise ApiError(404, "Lead not found")
    return lead


async def get_lead(ctx: ApiContext) -> Response:
    return ok(lead_json(ctx, _lead(ctx)))


async def update_lead(ctx: ApiContext) -> Response:
    lead = _lead(ctx)
    _apply(ctx, lead, await ctx.json_object())
    lead["update_time"] = ctx.state.clock.now()
    return ok(lead_json(ctx, lead))


async def delete_lead(ctx: ApiContext) -> Response:
    lead = _lead(ctx)
    del ctx.data.leads[lead["id"]]
    return ok({"id": lead["id"]})


async def list_leads(ctx: ApiContext) -> Response:
    leads = [lead for lead in ctx.data.leads.values() if not lead["is_archived"]]
    for name in ("person_id", "organization_id", "owner_id"):
        wanted = query_int(ctx.query(name), name, strict=False)
        if wanted is not None:
            leads = [lead for lead in leads if lead[name] == wanted]
    since = ctx.query("updated_since")
    if since:
        lower = parse_rfc3339(since if "T" in since else f"{since}T00:00:00Z", "updated_since")
        leads = [lead for lead in leads if lead["update_time"] >= lower]
    page, additional = offset_page(ctx, leads, flat=True)
    return ok([lead_json(ctx, lead) for lead in page], additional)


def _label_json(ctx: ApiContext, label: Record) -> dict[str, Any]:
    return {**label, "add_time": _iso_ms(label["add_time"]), "update_time": _iso_ms(label["update_time"])}


async def list_lead_labels(ctx: ApiContext) -> Response:
    return ok([_label_json(ctx, label) for label in ctx.data.lead_labels.values()])


async def create_lead_label(ctx: ApiContext) -> Response:
    body = await ctx.json_object()
    name, color = body.get("name"), body.get("color")
    if not isinstance(name, str) or not name.strip():
        raise _invalid("name: Required")
    if color not in LABEL_COLORS:
        raise _invalid(f"color: Must be one of {', '.join(LABEL_COLORS)}")
    now = ctx.state.clock.now()
    label = {
        "id": ctx.state.next_uuid("lead_label"),
        "name": name,
        "color": color,
        "add_time": now,
        "update_time": now,
    }
    ctx.data.lead_labels[label["id"]] = label
    return ok(_label_json(ctx, label))


ENDPOINTS = [
    Endpoint("v1", "get", "/leads", list_leads),
    Endpoint("v1", "post", "/leads", create_lead),
    Endpoint("v1", "get", "/leads/{id}", get_lead, id_type="str"),
    Endpoint("v1", "patch", "/leads/{id}", update_lead, id_type="str"),
    Endpoint("v1", "delete", "/leads/{id}", delete_lead, id_type="str"),
    Endpoint("v1", "get", "/leadLabels", list_lead_labels),
    Endpoint("v1", "post", "/leadLabels", create_lead_label),
]
