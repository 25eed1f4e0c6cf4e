"""v2 persons: create, get, patch, soft delete (see `person_merge`), list with filters and cursor paging.

Create, patch and delete send the person webhooks (`person_events`) with `change_source` "api"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.api_v1_filters import filter_id_of, filtered
from sandbox.pipedrive.fields import check_custom_values
from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, bad_request, not_found, ok
from sandbox.pipedrive.paging import cursor_page
from sandbox.pipedrive.payloads import V2Body, contact_items, parse_rfc3339, query_int
from sandbox.pipedrive.person_events import person_changed, person_created, snapshot
from sandbox.pipedrive.person_merge import delete_person as soft_delete
from sandbox.pipedrive.person_view import person_body
from sandbox.pipedrive.state import Record

PERSON_WRITABLE = (
    "name",
    "owner_id",
    "org_id",
    "emails",
    "phones",
    "visible_to",
    "label_ids",
    "marketing_status",
    "custom_fields",
    "add_time",
)
CONTACT_SYNC_FIELDS = ("postal_address", "notes", "im", "birthday", "job_title")
READONLY = {
    "id": "",
    "is_deleted": "Use DELETE to delete a person.",
    "update_time": "",
    "first_name": "Set 'name' instead.",
    "last_name": "Set 'name' instead.",
    "picture_id": "",
}
VISIBLE_TO = (1, 3, 5, 7)
MARKETING_STATUSES = ("no_consent", "unsubscribed", "subscribed", "archived")
MAX_IDS = 100


def person_json(ctx: ApiContext, person: Record, custom_keys: set[str] | None = None) -> dict[str, Any]:
    return ctx.shape(person_body(ctx.state, person, custom_keys))


def live_person(ctx: ApiContext, person_id: int) -> Record:
    person = ctx.data.persons.get(person_id)
    if person is None or person["is_deleted"]:
        raise not_found("Person")
    return person


def _apply(ctx: ApiContext, person: Record, body: V2Body) -> None:
    for key in CONTACT_SYNC_FIELDS:
        if body.has(key):
            raise ApiError(403, "Contact Sync fields can only be set when Contact Sync is enabled")
    if body.has("name"):
        name = body.string("name", nullable=False)
        if not name or not name.strip():
            raise bad_request("Validation failed: name: Must not be empty")
        first, _, last = name.strip().partition(" ")
        person.update(name=name, first_name=first, last_name=last or None)
    owner_id = body.integer("owner_id")
    if owner_id is not None:
        owner = ctx.state.users.get(owner_id)
        if owner is None or owner.company_id != ctx.company.id:
            raise bad_request(f"Validation failed: owner_id: User with id {owner_id} not found")
        person["owner_id"] = owner_id
    if body.has("org_id"):
        person["org_id"] = body.integer("org_id", nullable=True)
    for key in ("emails", "phones"):
        items = contact_items(body, key)
        if items is not None:
            person[key] = items
    visible_to = body.integer("visible_to")
    if visible_to is not None:
        if visible_to not in VISIBLE_TO:
            raise bad_request("Validation failed: visible_to: Must be one of 1, 3, 5, 7")
        person["visible_to"] = visible_to
    label_ids = body.int_list("label_ids")
    if label_ids is not None:
        person["label_ids"] = label_ids
    status = body.string("marketing_status")
    if status is not None:
        if status not in MARKETING_STATUSES:
            raise bad_request("Validation failed: marketing_status: Invalid value")
        person["marketing_status"] = status
    custom = body.obj("custom_fields")
    if custom is not None:
        values = check_custom_values(ctx.data.person_fields, custom, strict=True)
        merged = {**person["custom_fields"], **values}
        person["custom_fields"] = {k: v for k, v in merged.items() if v is not None}


def new_person(now: datetime, owner_id: int, name: str) -> Record:
    first, _, last = name.partition(" ")
    return {
        "id": 0,
        "name": name,
        "first_name": first,
        "last_name": last or None,
        "owner_id": owner_id,
        "org_id": None,
        "add_time": now,
        "update_time": now,
        "emails": [],
        "phones": [],
        "is_deleted": False,
        "visible_to": 3,
        "label_ids": [],
        "picture_id": None,
        "marketing_status": None,
        "custom_fields": {},
    }


async def create_person(ctx: ApiContext) -> Response:
    body = V2Body(await ctx.json_object(), writable=PERSON_WRITABLE + CONTACT_SYNC_FIELDS, readonly=READONLY)
    name = body.string("name", required=True)
    assert name is not None
    person = new_person(ctx.state.clock.now(), ctx.user.id, name)
    _apply(ctx, person, body)
    add_time = body.rfc3339("add_time")
    if add_time is not None:
        person["add_time"] = parse_rfc3339(add_time, "add_time")
    person["id"] = ctx.state.next_id("person", ctx.company.id)
    ctx.data.persons[person["id"]] = person
    person_created(ctx.state, ctx.company.id, person, ctx.user.id, "api")
    return ok(person_json(ctx, person))


async def get_person(ctx: ApiContext) -> Response:
    person = ctx.data.persons.get(ctx.path_int())
    if person is None:
        raise not_found("Person")
    return ok(person_json(ctx, person))


async def update_person(ctx: ApiContext) -> Response:
    person = live_person(ctx, ctx.path_int())
    body = V2Body(await ctx.json_object(), writable=PERSON_WRITABLE + CONTACT_SYNC_FIELDS, readonly=READONLY)
    if body.has("add_time"):
        raise bad_request("'add_time' is a read-only field.")
    before = snapshot(ctx.state, person)
    _apply(ctx, person, body)
    person["update_time"] = ctx.state.clock.now()
    person_changed(ctx.state, ctx.company.id, before, person, ctx.user.id, "api")
    return ok(person_json(ctx, person))


async def delete_person(ctx: ApiContext) -> Response:
    person = live_person(ctx, ctx.path_int())
    soft_delete(ctx.state, ctx.company.id, person, ctx.user.id, "api")
    return ok({"id": person["id"]})


def _narrowed(ctx: ApiContext, persons: list[Record]) -> list[Record]:
    ids = ids_filter(ctx.query("ids"))
    if ids is not None:
        persons = [p for p in persons if p["id"] in ids]
    for name in ("owner_id", "org_id"):
        wanted = query_int(ctx.query(name), name)
        if wanted is not None:
            persons = [p for p in persons if p[name] == wanted]
    deal_id = query_int(ctx.query("deal_id"), "deal_id")
    if deal_id is not None:
        deal = ctx.data.deals.get(deal_id)
        persons = [p for p in persons if deal is not None and deal["person_id"] == p["id"]]
    return persons


def ids_filter(raw: str | None) -> set[int] | None:
    if raw is None or raw == "":
        return None
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if len(parts) > MAX_IDS:
        raise bad_request(f"Validation failed: ids: At most {MAX_IDS} ids are allowed")
    if not all(p.isdigit() for p in parts):
        raise bad_request("Validation failed: ids: Expected comma-separated numbers")
    return {int(p) for p in parts}


def sort_records(ctx: ApiContext, records: list[Record], allowed: tuple[str, ...]) -> list[Record]:
    sort_by = ctx.query("sort_by") or "id"
    direction = ctx.query("sort_direction") or "asc"
    if sort_by not in allowed:
        raise bad_request(f"Validation failed: sort_by: Must be one of {', '.join(allowed)}")
    if direction not in ("asc", "desc"):
        raise bad_request("Validation failed: sort_direction: Must be asc or desc")
    return sorted(records, key=lambda r: (r[sort_by], r["id"]), reverse=direction == "desc")


def time_window(ctx: ApiContext, records: list[Record]) -> list[Record]:
    since, until = ctx.query("updated_since"), ctx.query("updated_until")
    if since:
        lower = parse_rfc3339(since, "updated_since")
        records = [r for r in records if r["update_time"] >= lower]
    if until:
        upper = parse_rfc3339(until, "updated_until")
        records = [r for r in records if r["update_time"] < upper]
    return records


async def list_persons(ctx: ApiContext) -> Response:
    persons = [p for p in ctx.data.persons.values() if not p["is_deleted"]]
    filter_id = filter_id_of(ctx)
    if filter_id is not None:  # Pipedrive ignores ids, owner_id, org_id and deal_id beside a filter
        persons = filtered(ctx, filter_id, "person", persons)
    else:
        persons = _narrowed(ctx, persons)
    persons = sort_records(ctx, time_window(ctx, persons), ("id", "update_time", "add_time"))
    custom_keys: set[str] | None = None
    raw_custom = ctx.query("custom_fields")
    if raw_custom:
        custom_keys = {k.strip() for k in raw_custom.split(",") if k.strip()}
        if len(custom_keys) > 15:
            raise bad_request("Validation failed: custom_fields: At most 15 custom fields are allowed")
    page, additional = cursor_page(ctx, persons)
    return ok([person_json(ctx, p, custom_keys) for p in page], additional)


ENDPOINTS = [
    Endpoint("v2", "get", "/persons", list_persons),
    Endpoint("v2", "post", "/persons", create_person),
    Endpoint("v2", "get", "/persons/{id}", get_person),
    Endpoint("v2", "patch", "/persons/{id}", update_person),
    Endpoint("v2", "delete", "/persons/{id}", delete_person),
]
