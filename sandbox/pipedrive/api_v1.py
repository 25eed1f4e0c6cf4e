"""v1 users (`/users`, `/users/me`, `/users/find`) and activity types."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, ok
from sandbox.pipedrive.state import Record, SandboxUser

ICON_KEYS = tuple(
    [
        "task",
        "email",
        "meeting",
        "deadline",
        "call",
        "lunch",
        "calendar",
        "downarrow",
        "document",
        "smartphone",
        "camera",
        "scissors",
        "cogs",
        "bubble",
        "uparrow",
        "checkbox",
        "signpost",
        "shuffle",
        "addressbook",
        "linegraph",
        "picture",
        "car",
        "world",
        "search",
        "clip",
        "sound",
        "brush",
        "key",
        "padlock",
        "pricetag",
        "suitcase",
        "finish",
        "plane",
        "loop",
        "wifi",
        "truck",
        "cart",
        "bulb",
        "bell",
        "presentation",
    ]
)
HEX_COLOR = re.compile(r"^[0-9A-Fa-f]{6}$")
MAX_CUSTOM_ACTIVITY_TYPES = 30
PERMISSION_NAMESPACE = uuid.UUID("0b9f6a4e-1c1e-4f7e-9d7a-5a8f1c2e3d4b")


def _offset(tz_name: str, now: datetime) -> str:
    offset = now.astimezone(ZoneInfo(tz_name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def user_json(ctx: ApiContext, user: SandboxUser) -> dict[str, Any]:
    now = ctx.state.clock.now()
    access = [
        {
            "app": app,
            "admin": user.is_admin,
            "permission_set_id": str(
                uuid.uuid5(PERMISSION_NAMESPACE, f"{user.company_id}:{app}:{user.is_admin}")
            ),
        }
        for app in ("sales", "global")
    ]
    body = {
        "id": user.id,
        "name": user.name,
        "default_currency": "EUR",
        "locale": user.locale,
        "lang": 1,
        "email": user.email,
        "phone": None,
        "activated": user.active,
        "last_login": ctx.state.v1_time(now),
        "created": ctx.state.v1_time(now),
        "modified": None,
        "has_created_company": user.is_admin
        and min(u.id for u in ctx.state.company_users(user.company_id)) == user.id,
        "access": access,
        "active_flag": user.active,
        "timezone_name": user.timezone_name,
        "timezone_offset": _offset(user.timezone_name, now),
        "role_id": 1,
        "icon_url": None,
        "is_you": user.id == ctx.user.id,
        "is_deleted": not user.active,
    }
    return ctx.shape(body, ("phone", "modified", "icon_url"))


async def users_me(ctx: ApiContext) -> Response:
    body = user_json(ctx, ctx.user)
    language, _, country = ctx.user.locale.partition("_")
    body.update(
        company_id=ctx.company.id,
        company_name=ctx.company.name,
        company_domain=ctx.company.domain,
        company_country=country or "DE",
        company_industry="",
        language={"language_code": language, "country_code": country or language.upper()},
    )
    return ok(body)


async def list_users(ctx: ApiContext) -> Response:
    users = sorted(ctx.state.company_users(ctx.company.id), key=lambda u: u.id)
    return ok([user_json(ctx, u) for u in users])


async def find_users(ctx: ApiContext) -> Response:
    term = (ctx.query("term") or "").strip().casefold()
    if not term:
        raise ApiError(400, "Invalid input: term - This field is required")
    by_email = ctx.query("search_by_email") in ("1", "true")
    users = sorted(ctx.state.company_users(ctx.company.id), key=lambda u: u.id)
    found = [u for u in users if term in (u.email if by_email else u.name).casefold()]
    return ok([user_json(ctx, u) for u in found])


def activity_type_json(ctx: ApiContext, record: Record) -> dict[str, Any]:
    body = {
        **record,
        "add_time": ctx.state.rfc3339(record["add_time"]),
        "update_time": ctx.state.rfc3339(record["update_time"]),
    }
    return ctx.shape(body)


def key_string_for(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_") or "activity"
    candidate, suffix = base, 1
    while candidate in taken:
        suffix += 1
        candidate = f"{base}_{suffix}"
    return candidate


def _check_icon_and_color(body: dict[str, Any], *, required: bool) -> None:
    icon_key = body.get("icon_key")
    if (required or icon_key is not None) and icon_key not in ICON_KEYS:
        raise ApiError(400, "Invalid input: icon_key - Must be one of the allowed icon keys")
    color = body.get("color")
    if color is not None and (not isinstance(color, str) or not HEX_COLOR.match(color)):
        raise ApiError(400, "Invalid input: color - Must be a 6-character hexadecimal color without '#'")


async def list_activity_types(ctx: ApiContext) -> Response:
    types = sorted(ctx.data.activity_types.values(), key=lambda t: (t["order_nr"], t["id"]))
    return ok([activity_type_json(ctx, t) for t in types])


async def create_activity_type(ctx: ApiContext) -> Response:
    body = await ctx.json_object()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "Invalid input: name - This field is required")
    _check_icon_and_color(body, required=True)
    types = ctx.data.activity_types
    if sum(1 for t in types.values() if t["is_custom_flag"]) >= MAX_CUSTOM_ACTIVITY_TYPES:
        raise ApiError(
            403, "You've reached the activity type per company limit", "feature_capping_activity_types"
        )
    now = ctx.state.clock.now()
    type_id = ctx.state.next_id("activity_type", ctx.company.id)
    record: Record = {
        "id": type_id,
        "name": name.strip(),
        "icon_key": body["icon_key"],
        "color": (body.get("color") or None),
        "order_nr": max((t["order_nr"] for t in types.values()), default=0) + 1,
        "key_string": key_string_for(name, {t["key_string"] for t in types.values()}),
        "active_flag": True,
        "is_custom_flag": True,
        "add_time": now,
        "update_time": now,
    }
    types[type_id] = record
    return ok(activity_type_json(ctx, record))


def _activity_type(ctx: ApiContext) -> Record:
    record = ctx.data.activity_types.get(ctx.path_int())
    if record is None:
        raise ApiError(404, "Activity type not found")
    return record


async def update_activity_type(ctx: ApiContext) -> Response:
    record = _activity_type(ctx)
    body = await ctx.json_object()
    _check_icon_and_color(body, required=False)
    for key in ("name", "icon_key", "color", "order_nr"):
        if body.get(key) is not None:
            record[key] = body[key]
    if "active_flag" in body:
        record["active_flag"] = body["active_flag"] in (True, 1, "1", "true")
    record["update_time"] = ctx.state.clock.now()
    return ok(activity_type_json(ctx, record))


async def delete_activity_type(ctx: ApiContext) -> Response:
    record = _activity_type(ctx)
    record.update(active_flag=False, update_time=ctx.state.clock.now())
    return ok(activity_type_json(ctx, record))


ENDPOINTS = [
    Endpoint("v1", "get", "/users/me", users_me),
    Endpoint("v1", "get", "/users/find", find_users),
    Endpoint("v1", "get", "/users", list_users),
    Endpoint("v1", "get", "/activityTypes", list_activity_types),
    Endpoint("v1", "post", "/activityTypes", create_activity_type),
    Endpoint("v1", "put", "/activityTypes/{id}", update_activity_type),
    Endpoint("v1", "delete", "/activityTypes/{id}", delete_activity_type),
]
