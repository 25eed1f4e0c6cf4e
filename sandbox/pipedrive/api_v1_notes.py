"""v1 notes and webhooks (app-specific when created with an OAuth token; 201 on create)."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, ok
from sandbox.pipedrive.paging import offset_page
from sandbox.pipedrive.payloads import v1_int
from sandbox.pipedrive.state import Record

NOTE_TARGETS = ("person_id", "deal_id", "lead_id", "org_id", "project_id", "task_id")
PIN_FLAGS = tuple(
    f"pinned_to_{t}_flag" for t in ("lead", "deal", "organization", "person", "project", "task")
)
EVENT_ACTIONS = ("create", "change", "delete", "*")
EVENT_OBJECTS: tuple[str, ...] = (
    "activity",
    "deal",
    "lead",
    "note",
    "organization",
    "person",
    "pipeline",
    "product",
    "stage",
)
EVENT_OBJECTS += ("user", "*")
MAX_APP_WEBHOOKS_PER_USER = 40


def note_json(ctx: ApiContext, note: Record) -> dict[str, Any]:
    data = ctx.data
    person = data.persons.get(note["person_id"]) if note["person_id"] else None
    deal = data.deals.get(note["deal_id"]) if note["deal_id"] else None
    author = ctx.state.users.get(note["user_id"])
    body = {
        **note,
        "add_time": ctx.state.v1_time(note["add_time"]),
        "update_time": ctx.state.v1_time(note["update_time"]),
        "person": {"name": person["name"]} if person else None,
        "deal": {"title": deal["title"]} if deal else None,
        "user": {"email": author.email, "name": author.name, "is_you": author.id == ctx.user.id}
        if author
        else None,
    }
    return ctx.shape(body)


def _apply_note(ctx: ApiContext, note: Record, body: dict[str, Any]) -> None:
    if "content" in body:
        if not isinstance(body["content"], str) or not body["content"].strip():
            raise ApiError(400, "Invalid input: content - This field is required")
        note["content"] = body["content"]
    for key in NOTE_TARGETS:
        if key in body:
            note[key] = body[key] if key == "lead_id" else v1_int(body[key], key)
    person = ctx.data.persons.get(note["person_id"]) if note["person_id"] else None
    if note["person_id"] and (person is None or person["is_deleted"]):
        raise ApiError(404, "Person not found")
    if note["deal_id"] and note["deal_id"] not in ctx.data.deals:
        raise ApiError(404, "Deal not found")
    if note["lead_id"] and note["lead_id"] not in ctx.data.leads:
        raise ApiError(404, "Lead not found")
    for flag in PIN_FLAGS:
        if flag in body:
            note[flag] = body[flag] in (True, 1, "1", "true")
    if not any(note[k] for k in NOTE_TARGETS):
        raise ApiError(
            400, "Note must be associated with a deal, person, organization, lead, project or task"
        )


async def create_note(ctx: ApiContext) -> Response:
    body = await ctx.json_object()
    if "content" not in body:
        raise ApiError(400, "Invalid input: content - This field is required")
    now = ctx.state.clock.now()
    note: Record = {"id": 0, "active_flag": True, "add_time": now, "update_time": now, "content": ""}
    note.update({k: None for k in NOTE_TARGETS})
    note.update({f: False for f in PIN_FLAGS})
    user_id = v1_int(body.get("user_id"), "user_id")
    note.update(user_id=user_id or ctx.user.id, last_update_user_id=ctx.user.id)
    _apply_note(ctx, note, body)
    note["id"] = ctx.state.next_id("note", ctx.company.id)
    ctx.data.notes[note["id"]] = note
    return ok(note_json(ctx, note))


def _note(ctx: ApiContext) -> Record:
    note = ctx.data.notes.get(ctx.path_int())
    if note is None or not note["active_flag"]:
        raise ApiError(404, "Note not found")
    return note


async def get_note(ctx: ApiContext) -> Response:
    return ok(note_json(ctx, _note(ctx)))


async def update_note(ctx: ApiContext) -> Response:
    note = _note(ctx)
    _apply_note(ctx, note, await ctx.json_object())
    note.update(update_time=ctx.state.clock.now(), last_update_user_id=ctx.user.id)
    return ok(note_json(ctx, note))


async def list_notes(ctx: ApiContext) -> Response:
    notes = [n for n in ctx.data.notes.values() if n["active_flag"]]
    for key in ("person_id", "deal_id", "user_id"):
        wanted = v1_int(ctx.query(key), key)
        if wanted is not None:
            notes = [n for n in notes if n[key] == wanted]
    lead_id = ctx.query("lead_id")
    if lead_id:
        notes = [n for n in notes if n["lead_id"] == lead_id]
    page, additional = offset_page(ctx, sorted(notes, key=lambda n: n["id"]))
    return ok([note_json(ctx, n) for n in page], additional)


def _webhook_error(status: int, errors: dict[str, list[str]]) -> JSONResponse:
    return JSONResponse({"status": "error", "success": False, "errors": errors}, status_code=status)


def webhook_json(ctx: ApiContext, hook: Record) -> dict[str, Any]:
    body = {k: v for k, v in hook.items() if k != "client_id"}
    body["add_time"] = ctx.state.rfc3339(hook["add_time"]).replace("Z", ".000Z")
    if hook["last_delivery_time"] is not None:
        body["last_delivery_time"] = ctx.state.rfc3339(hook["last_delivery_time"]).replace("Z", ".000Z")
    return body


def _visible_hooks(ctx: ApiContext) -> list[Record]:
    return [
        h
        for h in ctx.data.webhooks.values()
        if h["type"] != "application" or h["client_id"] == ctx.grant.client_id
    ]


async def create_webhook(ctx: ApiContext) -> Response:
    body = await ctx.json_object()
    errors: dict[str, list[str]] = {}
    url = body.get("subscription_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors["subscription_url"] = ["invalid or non-reachable URL"]
    if body.get("event_action") not in EVENT_ACTIONS:
        errors["event_action"] = ["must be one of " + ", ".join(EVENT_ACTIONS)]
    if body.get("event_object") not in EVENT_OBJECTS:
        errors["event_object"] = ["must be one of " + ", ".join(EVENT_OBJECTS)]
    version = str(body.get("version") or "2.0")
    if version not in ("1.0", "2.0"):
        errors["version"] = ["must be 1.0 or 2.0"]
    if errors:
        return _webhook_error(400, errors)
    user_id = v1_int(body.get("user_id"), "user_id") or ctx.user.id
    mine = [h for h in _visible_hooks(ctx) if h["type"] == "application" and h["user_id"] == user_id]
    if len(mine) >= MAX_APP_WEBHOOKS_PER_USER:
        return _webhook_error(422, {"limit": ["Webhook limit of 40 per app and user reached"]})
    hook: Record = {
        "id": ctx.state.next_id("webhook", ctx.company.id),
        "company_id": ctx.company.id,
        "owner_id": ctx.user.id,
        "user_id": user_id,
        "event_action": body["event_action"],
        "event_object": body["event_object"],
        "subscription_url": url,
        "version": version,
        "is_active": 1,
        "add_time": ctx.state.clock.now(),
        "remove_time": None,
        "type": "application",
        "http_auth_user": body.get("http_auth_user"),
        "http_auth_password": body.get("http_auth_password"),
        "remove_reason": None,
        "last_delivery_time": None,
        "last_http_status": None,
        "admin_id": ctx.user.id,
        "name": str(body.get("name") or ""),
        "client_id": ctx.grant.client_id,
    }
    ctx.data.webhooks[hook["id"]] = hook
    return JSONResponse({"status": "ok", "success": True, "data": webhook_json(ctx, hook)}, status_code=201)


async def list_webhooks(ctx: ApiContext) -> Response:
    hooks = [webhook_json(ctx, h) for h in sorted(_visible_hooks(ctx), key=lambda h: h["id"])]
    return JSONResponse({"status": "ok", "success": True, "data": hooks})


async def delete_webhook(ctx: ApiContext) -> Response:
    hook_id = ctx.path_int()
    hook = ctx.data.webhooks.get(hook_id)
    if hook is None or hook not in _visible_hooks(ctx):
        return _webhook_error(404, {"id": ["not found"]})
    del ctx.data.webhooks[hook_id]
    return JSONResponse({"status": "ok", "success": True})


ENDPOINTS = [
    Endpoint("v1", "get", "/notes", list_notes),
    Endpoint("v1", "post", "/notes", create_note),
    Endpoint("v1", "get", "/notes/{id}", get_note),
    Endpoint("v1", "put", "/notes/{id}", update_note),
    Endpoint("v1", "get", "/webhooks", list_webhooks),
    Endpoint("v1", "post", "/webhooks", create_webhook),
    Endpoint("v1", "delete", "/webhooks/{id}", delete_webhook),
]
