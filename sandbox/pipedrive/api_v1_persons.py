"""v1 `PUT /persons/{id}/merge`: merge a Person into `merge_with_id` (see `person_merge` for what moves).

Answers the survivor as the v1 document's `mergePersonItem` (v1 field names: `phone`, `email`,
`active_flag`, times as "YYYY-MM-DD HH:MM:SS", `visible_to` as a string) with the counts of what it now
has and `merge_what_id`, the merged Person's id.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, ok
from sandbox.pipedrive.payloads import v1_int
from sandbox.pipedrive.person_merge import MergeProblem, merge_persons
from sandbox.pipedrive.state import Record

NULLABLE = (
    "last_name",
    "picture_id",
    "label",
    "org_name",
    "cc_email",
    "next_activity_date",
    "next_activity_time",
    "next_activity_id",
    "last_activity_id",
    "last_activity_date",
    "last_incoming_mail_time",
    "last_outgoing_mail_time",
)


def _activity_summary(ctx: ApiContext, person_id: int) -> dict[str, Any]:
    mine = [
        a
        for a in ctx.data.activities.values()
        if not a["is_deleted"]
        and (a["person_id"] == person_id or any(p["person_id"] == person_id for p in a["participants"]))
    ]
    done = [a for a in mine if a["done"]]
    undone = sorted(
        (a for a in mine if not a["done"] and a["due_date"]),
        key=lambda a: (a["due_date"], a["due_time"] or "", a["id"]),
    )
    last = max(done, key=lambda a: (a["due_date"] or "", a["due_time"] or "", a["id"]), default=None)
    upcoming = undone[0] if undone else None
    return {
        "activities_count": len(mine),
        "done_activities_count": len(done),
        "undone_activities_count": len(mine) - len(done),
        "next_activity_date": upcoming["due_date"] if upcoming else None,
        "next_activity_time": upcoming["due_time"] if upcoming else None,
        "next_activity_id": upcoming["id"] if upcoming else None,
        "last_activity_id": last["id"] if last else None,
        "last_activity_date": last["due_date"] if last else None,
    }


def _deal_counts(ctx: ApiContext, person_id: int) -> dict[str, int]:
    deals = [d for d in ctx.data.deals.values() if d["person_id"] == person_id and not d["is_deleted"]]
    counts = {
        "open_deals_count": sum(1 for d in deals if d["status"] == "open"),
        "closed_deals_count": sum(1 for d in deals if d["status"] != "open"),
        "won_deals_count": sum(1 for d in deals if d["status"] == "won"),
        "lost_deals_count": sum(1 for d in deals if d["status"] == "lost"),
    }
    related = {f"related_{key}": value for key, value in counts.items()}
    return {**counts, **related, "participant_open_deals_count": 0, "participant_closed_deals_count": 0}


def merge_item(ctx: ApiContext, person: Record, merged_id: int) -> dict[str, Any]:
    owner = ctx.state.users.get(person["owner_id"])
    files = [
        f
        for f in ctx.data.files.values()
        if f.record["person_id"] == person["id"] and f.record["active_flag"]
    ]
    notes = [n for n in ctx.data.notes.values() if n["person_id"] == person["id"] and n["active_flag"]]
    body: dict[str, Any] = {
        "id": person["id"],
        "company_id": ctx.company.id,
        "owner_id": person["owner_id"],
        "org_id": person["org_id"],
        "name": person["name"],
        "first_name": person["first_name"],
        "last_name": person["last_name"],
        **_deal_counts(ctx, person["id"]),
        "email_messages_count": 0,
        **_activity_summary(ctx, person["id"]),
        "files_count": len(files),
        "notes_count": len(notes),
        "followers_count": 0,
        "active_flag": not person["is_deleted"],
        "phone": [dict(p) for p in person["phones"]],
        "email": [dict(e) for e in person["emails"]],
        "first_char": person["name"][:1].lower(),
        "update_time": ctx.state.v1_time(person["update_time"]),
        "add_time": ctx.state.v1_time(person["add_time"]),
        "visible_to": str(person["visible_to"]),
        "picture_id": None,
        "last_incoming_mail_time": None,
        "last_outgoing_mail_time": None,
        "label": person["label_ids"][0] if person["label_ids"] else None,
        "label_ids": list(person["label_ids"]),
        "org_name": None,
        "owner_name": owner.name if owner else "",
        "cc_email": f"{ctx.company.domain}@pipedrivemail.com",
        "merge_what_id": merged_id,
    }
    return ctx.shape(body, NULLABLE)


async def merge_persons_endpoint(ctx: ApiContext) -> Response:
    body = await ctx.json_object()
    merge_with_id = v1_int(body.get("merge_with_id"), "merge_with_id")
    try:
        survivor, merged = merge_persons(
            ctx.state, ctx.company.id, ctx.path_int(), merge_with_id, ctx.user.id, "api"
        )
    except MergeProblem as problem:
        raise ApiError(problem.status, problem.message) from problem
    return ok(merge_item(ctx, survivor, merged["id"]))


ENDPOINTS = [Endpoint("v1", "put", "/persons/{id}/merge", merge_persons_endpoint)]
