"""Person and deal field definitions, v2 (`field_code`, cursor paging) and v1 (`key`, offset paging);
organization fields as the v2 list only."""

from __future__ import annotations

from starlette.responses import Response

from sandbox.pipedrive.fields import V1_CREATABLE_TYPES, V2_CREATABLE_TYPES, create_field, v1_field, v2_field
from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, bad_request, ok
from sandbox.pipedrive.paging import cursor_page, offset_page
from sandbox.pipedrive.payloads import V2Body
from sandbox.pipedrive.state import Record

V2_WRITABLE = ("field_name", "field_type", "options", "ui_visibility", "important_fields", "required_fields")


def _store(ctx: ApiContext) -> dict[int, Record]:
    path = ctx.request.url.path
    if "/organizationFields" in path:
        return ctx.data.organization_fields
    return ctx.data.person_fields if "/personFields" in path else ctx.data.deal_fields


def _ordered(store: dict[int, Record]) -> list[Record]:
    return sorted(
        (f for f in store.values() if f["active"]), key=lambda f: (f["is_custom"], f["order_nr"], f["id"])
    )


async def list_fields_v2(ctx: ApiContext) -> Response:
    page, additional = cursor_page(ctx, _ordered(_store(ctx)))
    if not additional:
        additional = {"next_cursor": None}
    return ok([v2_field(f) for f in page], additional)


async def create_field_v2(ctx: ApiContext) -> Response:
    body = V2Body(await ctx.json_object(), writable=V2_WRITABLE)
    name = body.string("field_name", required=True)
    field_type = body.string("field_type", required=True)
    assert name is not None and field_type is not None
    if field_type not in V2_CREATABLE_TYPES:
        raise bad_request(f"Validation failed: field_type: Must be one of {', '.join(V2_CREATABLE_TYPES)}")
    visibility = body.obj("ui_visibility") or {}
    record = create_field(ctx, _store(ctx), name, field_type, bool(visibility.get("add_visible_flag", True)))
    options = body.objects("options")
    if options is not None:
        record["options"] = [{"id": i, "label": str(o.get("label", ""))} for i, o in enumerate(options, 1)]
    return ok(v2_field(record))


async def list_fields_v1(ctx: ApiContext) -> Response:
    page, additional = offset_page(ctx, _ordered(_store(ctx)), flat=True)
    return ok([v1_field(ctx, f) for f in page], additional)


async def create_field_v1(ctx: ApiContext) -> Response:
    body = await ctx.json_object()
    name, field_type = body.get("name"), body.get("field_type")
    if not isinstance(name, str) or not name.strip():
        raise ApiError(400, "Invalid input: name - This field is required")
    if field_type not in V1_CREATABLE_TYPES:
        raise ApiError(400, "Invalid input: field_type - Invalid field type")
    visible = body.get("add_visible_flag", True) not in (False, "false", "0", 0)
    record = create_field(ctx, _store(ctx), name, str(field_type), visible)
    options = body.get("options")
    if isinstance(options, list):
        record["options"] = [
            {"id": i, "label": str(o.get("label", "")) if isinstance(o, dict) else str(o)}
            for i, o in enumerate(options, 1)
        ]
    return ok(v1_field(ctx, record))


ENDPOINTS = [
    Endpoint("v2", "get", "/personFields", list_fields_v2),
    Endpoint("v2", "post", "/personFields", create_field_v2),
    Endpoint("v2", "get", "/dealFields", list_fields_v2),
    Endpoint("v2", "post", "/dealFields", create_field_v2),
    Endpoint("v2", "get", "/organizationFields", list_fields_v2),
    Endpoint("v1", "get", "/personFields", list_fields_v1),
    Endpoint("v1", "post", "/personFields", create_field_v1),
    Endpoint("v1", "get", "/dealFields", list_fields_v1),
    Endpoint("v1", "post", "/dealFields", create_field_v1),
]
