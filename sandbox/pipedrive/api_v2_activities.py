"""v2 activities: `person_id` is read-only (participants carry the person), one of deal > lead > project."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.api_v2_persons import sort_records, time_window
from sandbox.pipedrive.gateway import ApiContext, Endpoint, bad_request, not_found, ok
from sandbox.pipedrive.paging import cursor_page
from sandbox.pipedrive.payloads import V2Body, query_bool, query_int
from sandbox.pipedrive.state import Record

NOTE_MAX_BYTES = 100 * 1024
WRITABLE = (
    "subject",
    "type",
    "owner_id",
    "deal_id",
    "lead_id",
    "org_id",
    "project_id",
    "due_date",
    "due_time",
    "duration",
    "busy",
    "done",
    "location",
    "participants",
    "attendees",
    "public_description",
    "priority",
    "note",
)
READONLY = {
    "person_id": "Use 'participants' to link persons to the activity.",
    "id": "",
    "creator_user_id": "",
    "is_deleted": "",
    "add_time": "",
    "update_time": "",
    "marked_as_done_time": "",
}
TIMESTAMPS = ("add_time", "update_time", "marked_as_done_time")


def activity_json(ctx: ApiContext, activity: Record) -> dict[str, Any]:
    body = dict(activity)
    for key in TIMESTAMPS:
        body[key] = ctx.state.rfc3339(activity[key]) if activity[key] is not None else None
    body["participants"] = [dict(p) for p in activity["participants"]]
    body["attendees"] = [dict(a) for a in activity["attendees"]]
    return ctx.shape(body)


def _hh_mm_ss(value: str | None) -> str | None:
    return f"{value}:00" if value is not None else None


def _participants(ctx: ApiContext, body: V2Body) -> list[dict[str, Any]] | None:
    items = body.objects("participants")
    if items is None:
        return None
    result: list[dict[str, Any]] = []
    for item in items:
        sub = V2Body(item, writable=("person_id", "primary"))
        person_id = sub.integer("person_id", required=True)
        person = ctx.data.persons.get(person_id or 0)
        if person is None or person["is_deleted"]:
            raise bad_request(f"Validation failed: participants: Person with id {person_id} not found")
        result.append({"person_id": person_id, "primary": bool(sub.boolean("primary"))})
    if result and not any(p["primary"] for p in result):
        result[0]["primary"] = True
    return result


def _apply(ctx: ApiContext, activity: Record, body: V2Body) -> None:
    data = ctx.data
    type_key = body.string("type", nullable=False)
    if type_key is not None:
        active = {t["key_string"]: t for t in data.activity_types.values() if t["active_flag"]}
        if type_key not in active:
            raise bad_request(f"Validation failed: type: Activity type '{type_key}' does not exist")
        activity["type"] = type_key
    for key in ("subject", "public_description", "note"):
        if body.has(key):
            activity[key] = body.string(key)
    note = activity.get("note")
    if note is not None and len(note.encode()) > NOTE_MAX_BYTES:
        raise bad_request("Validation failed: note: The note exceeds the maximum size of 100 KB")
    owner_id = body.integer("owner_id")
    if owner_id is not None:
        owner = ctx.state.users.get(owner_id)
        if owner is None or owner.company_id != ctx.company.id:
            raise bad_request(f"Validation failed: owner_id: User with id {owner_id} not found")
        activity["owner_id"] = owner_id
    deal_id = body.integer("deal_id", nullable=True)
    if deal_id is not None and (deal_id not in data.deals or data.deals[deal_id]["is_deleted"]):
        raise bad_request(f"Validation failed: deal_id: Deal with id {deal_id} not found")
    lead_id = body.string("lead_id")
    if lead_id is not None and lead_id not in data.leads:
        raise bad_request(f"Validation failed: lead_id: Lead with id {lead_id} not found")
    project_id = body.integer("project_id", nullable=True)
    if body.has("deal_id") or body.has("lead_id") or body.has("project_id"):
        activity.update(deal_id=None, lead_id=None, project_id=None)
        if deal_id is not None:
            activity["deal_id"] = deal_id
        elif lead_id is not None:
            activity["lead_id"] = lead_id
        elif project_id is not None:
            activity["project_id"] = project_id
    if body.has("org_id"):
        activity["org_id"] = body.integer("org_id", nullable=True)
    if body.has("due_date"):
        activity["due_date"] = body.date("due_date")
    for key in ("due_time", "duration"):
        if body.has(key):
            activity[key] = _hh_mm_ss(body.time(key))
    busy = body.boolean("busy")
    if busy is not None:
        activity["busy"] = busy
    done = body.boolean("done")
    if done is not None and done != activity["done"]:
        activity["done"] = done
        activity["marked_as_done_time"] = ctx.state.clock.now() if done else None
    location = body.obj("location")
    if location is not None:
        activity["location"] = location
    participants = _participants(ctx, body)
    if participants is not None:
        activity["participants"] = participants
        primary = next((p for p in participants if p["primary"]), None)
        activity["person_id"] = primary["person_id"] if primary else None
    attendees = body.objects("attendees")
    if attendees is not None:
        activity["attendees"] = attendees
    priority = body.integer("priority")
    if priority is not None:
        activity["priority"] = priority


def new_activity(ctx: ApiContext) -> Record:
    now = ctx.state.clock.now()
    return {
        "id": 0,
        "subject": None,
        "type": "call",
        "owner_id": ctx.user.id,
        "creator_user_id": ctx.user.id,
        "is_deleted": False,
        "add_time": now,
        "update_time": now,
        "deal_id": None,
        "lead_id": None,
        "person_id": None,
        "org_id": None,
        "project_id": None,
        "due_date": None,
        "due_time": None,
        "duration": None,
        "busy": False,
        "done": False,
        "marked_as_done_time": None,
        "location": None,
        "participants": [],
        "attendees": [],
        "conference_meeting_client": None,
        "conference_meeting_url": None,
        "conference_meeting_id": None,
        "public_description": None,
        "priority": None,
        "note": None,
    }


async def create_activity(ctx: ApiContext) -> Response:
    body = V2Body(await ctx.json_object(), writable=WRITABLE, readonly=READONLY)
    activity = new_activity(ctx)
    _apply(ctx, activity, body)
    if not activity["subject"]:
        type_names = {t["key_string"]: t["name"] for t in ctx.data.activity_types.values()}
        activity["subject"] = type_names.get(activity["type"], activity["type"])
    activity["id"] = ctx.state.next_id("activity", ctx.company.id)
    ctx.data.activities[activity["id"]] = activity
    return ok(activity_json(ctx, activity))


def _live(ctx: ApiContext) -> Record:
    activity = ctx.data.activities.get(ctx.path_int())
    if activity is None or activity["is_deleted"]:
        raise not_found("Activity")
    return activity


async def get_activity(ctx: ApiContext) -> Response:
    activity = ctx.data.activities.get(ctx.path_int())
    if activity is None:
        raise not_found("Activity")
    return ok(activity_json(ctx, activity))


async def update_activity(ctx: ApiContext) -> Response:
    activity = _live(ctx)
    body = V2Body(await ctx.json_object(), writable=WRITABLE, readonly=READONLY)
    _apply(ctx, activity, body)
    activity["update_time"] = ctx.state.clock.now()
    return ok(activity_json(ctx, activity))


async def delete_activity(ctx: ApiContext) -> Response:
    activity = _live(ctx)
    activity.update(is_deleted=True, update_time=ctx.state.clock.now())
    return ok({"id": activity["id"]})


async def list_activities(ctx: ApiContext) -> Response:
    activities = [a for a in ctx.data.activities.values() if not a["is_deleted"]]
    for name in ("owner_id", "deal_id", "person_id", "org_id"):
        wanted = query_int(ctx.query(name), name)
        if wanted is not None:
            if name == "person_id":
                activities = [
                    a for a in activities if any(p["person_id"] == wanted for p in a["participants"])
                ]
            else:
                activities = [a for a in activities if a[name] == wanted]
    lead_id = ctx.query("lead_id")
    if lead_id:
        activities = [a for a in activities if a["lead_id"] == lead_id]
    done = query_bool(ctx.query("done"), "done")
    if done is not None:
        activities = [a for a in activities if a["done"] is done]
    raw_ids = ctx.query("ids")
    if raw_ids:
        ids = {int(i) for i in raw_ids.split(",") if i.strip().isdigit()}
        activities = [a for a in activities if a["id"] in ids]
    activities = time_window(ctx, activities)
    if ctx.query("sort_by") == "due_date":
        reverse = ctx.query("sort_direction") == "desc"
        activities.sort(key=lambda a: (a["due_date"] or "", a["due_time"] or "", a["id"]), reverse=reverse)
    else:
        activities = sort_records(ctx, activities, ("id", "update_time", "add_time"))
    page, additional = cursor_page(ctx, activities)
    return ok([activity_json(ctx, a) for a in page], additional)


ENDPOINTS = [
    Endpoint("v2", "get", "/activities", list_activities),
    Endpoint("v2", "post", "/activities", create_activity),
    Endpoint("v2", "get", "/activities/{id}", get_activity),
    Endpoint("v2", "patch", "/activities/{id}", update_activity),
    Endpoint("v2", "delete", "/activities/{id}", delete_activity),
]
