"""Custom fields: per-company 40-hex keys, value checks, and the v1/v2 shapes of a field definition."""

from __future__ import annotations

import re
from typing import Any

from sandbox.pipedrive.gateway import ApiContext, ApiError, bad_request
from sandbox.pipedrive.state import Record

FIELD_KEY = re.compile(r"^[0-9a-f]{40}$")
VARCHAR_MAX = 255
TEXT_MAX = 65_535
CUSTOM_FIELD_CAP = {"lite": 30, "growth": 100, "premium": 300, "ultimate": 500}
V2_CREATABLE_TYPES = (
    "varchar",
    "text",
    "double",
    "phone",
    "date",
    "daterange",
    "time",
    "timerange",
    "set",
    "enum",
    "varchar_auto",
    "address",
    "monetary",
    "org",
    "people",
    "user",
)
V1_CREATABLE_TYPES = (*V2_CREATABLE_TYPES, "visible_to")


def custom_defs(store: dict[int, Record]) -> dict[str, Record]:
    return {f["key"]: f for f in store.values() if f["is_custom"] and f["active"]}


def check_custom_values(store: dict[int, Record], values: dict[str, Any], *, strict: bool) -> dict[str, Any]:
    """Validate `custom_fields` values against the company's field definitions."""
    defs = custom_defs(store)
    checked: dict[str, Any] = {}
    for key, value in values.items():
        definition = defs.get(key)
        if definition is None:
            if strict:
                raise bad_request(f"Validation failed: custom_fields: Unknown custom field '{key}'")
            continue
        field_type = definition["field_type"]
        if value is None:
            checked[key] = None
        elif field_type in ("varchar", "varchar_auto", "phone", "text", "address"):
            if not isinstance(value, str):
                raise bad_request(f"Validation failed: custom_fields.{key}: Expected string")
            limit = TEXT_MAX if field_type == "text" else VARCHAR_MAX
            if len(value) > limit:
                raise bad_request(
                    f"Validation failed: custom_fields.{key}: Value is longer than {limit} characters"
                )
            checked[key] = value
        elif field_type in ("double", "monetary"):
            if isinstance(value, bool) or not isinstance(value, int | float | dict):
                raise bad_request(f"Validation failed: custom_fields.{key}: Expected number")
            checked[key] = value
        elif field_type == "set" and value == []:
            raise bad_request(f"Validation failed: custom_fields.{key}: Use null to clear a set field")
        else:
            checked[key] = value
    return checked


def create_field(
    ctx: ApiContext, store: dict[int, Record], name: str, field_type: str, visible: bool
) -> Record:
    cap = CUSTOM_FIELD_CAP[ctx.company.plan]
    custom_count = sum(1 for f in ctx.data.person_fields.values() if f["is_custom"]) + sum(
        1 for f in ctx.data.deal_fields.values() if f["is_custom"]
    )
    if custom_count >= cap:
        raise ApiError(
            403,
            "You have reached the limit of custom fields for your plan",
            "feature_capping_custom_fields_limit",
        )
    state = ctx.state
    now = state.clock.now()
    record: Record = {
        "id": state.next_id("field", ctx.company.id),
        "key": state.field_key(ctx.company.id, name),
        "name": name,
        "field_type": field_type,
        "is_custom": True,
        "order_nr": len(store) + 1,
        "options": None,
        "add_time": now,
        "update_time": now,
        "active": True,
        "add_visible_flag": visible,
        "company_id": ctx.company.id,
    }
    store[record["id"]] = record
    return record


def v2_field(record: Record) -> dict[str, Any]:
    return {
        "field_name": record["name"],
        "field_code": record["key"],
        "field_type": record["field_type"],
        "options": record["options"],
        "subfields": None,
        "is_custom_field": record["is_custom"],
        "is_optional_response_field": False,
        "ui_visibility": {"add_visible_flag": record["add_visible_flag"], "details_visible_flag": True},
    }


def v1_field(ctx: ApiContext, record: Record) -> dict[str, Any]:
    return {
        "id": record["id"],
        "key": record["key"],
        "name": record["name"],
        "order_nr": record["order_nr"],
        "field_type": record["field_type"],
        "add_time": ctx.state.rfc3339(record["add_time"]),
        "update_time": ctx.state.rfc3339(record["update_time"]),
        "last_updated_by_user_id": ctx.user.id,
        "created_by_user_id": ctx.user.id,
        "active_flag": record["active"],
        "edit_flag": record["is_custom"],
        "index_visible_flag": True,
        "details_visible_flag": True,
        "add_visible_flag": record["add_visible_flag"],
        "important_flag": False,
        "bulk_edit_allowed": True,
        "searchable_flag": record["field_type"] in ("varchar", "varchar_auto", "text", "phone", "address"),
        "filtering_allowed": True,
        "sortable_flag": True,
        "options": record["options"],
        "mandatory_flag": False,
    }
