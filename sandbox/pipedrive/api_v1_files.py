"""v1 files: multipart upload (part must be named `file`), per-person/per-deal lists, download."""

from __future__ import annotations

import hashlib
import mimetypes
from typing import Any

from starlette.datastructures import UploadFile
from starlette.responses import Response

from sandbox.pipedrive.gateway import ApiContext, ApiError, Endpoint, ok
from sandbox.pipedrive.paging import offset_page
from sandbox.pipedrive.payloads import v1_int
from sandbox.pipedrive.state import Record, StoredFile

LINK_KEYS = ("deal_id", "person_id", "org_id", "product_id", "activity_id", "project_id")
FILES_MAX_LIMIT = 100
NO_FILES = "No files were provided with the request"


def file_type_for(name: str, content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    if major == "image":
        return "img"
    if major in ("audio", "video"):
        return major
    if name.lower().endswith(".pdf") or content_type == "application/pdf":
        return "pdf"
    return "other"


def file_json(ctx: ApiContext, record: Record) -> dict[str, Any]:
    body = {
        **record,
        "add_time": ctx.state.v1_time(record["add_time"]),
        "update_time": ctx.state.v1_time(record["update_time"]),
        "url": f"{ctx.state.api_domain(ctx.company.id)}/api/v1/files/{record['id']}/download",
    }
    return ctx.shape(body)


async def upload_file(ctx: ApiContext) -> Response:
    if not ctx.request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ApiError(400, NO_FILES)
    form = await ctx.request.form()
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        stray = [key for key, value in form.multi_items() if isinstance(value, UploadFile)]
        if stray:
            raise ApiError(400, f"Invalid input: {stray[0]} - This field was not expected. {NO_FILES}")
        raise ApiError(400, NO_FILES)
    content = await upload.read()
    name = upload.filename or "file"
    content_type = upload.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
    links: dict[str, Any] = {}
    for key in LINK_KEYS:
        raw = form.get(key)
        links[key] = v1_int(raw if isinstance(raw, str) else None, key)
    lead_raw = form.get("lead_id")
    links["lead_id"] = lead_raw if isinstance(lead_raw, str) and lead_raw else None
    data = ctx.data
    person = data.persons.get(links["person_id"]) if links["person_id"] else None
    deal = data.deals.get(links["deal_id"]) if links["deal_id"] else None
    lead = data.leads.get(links["lead_id"]) if links["lead_id"] else None
    if (links["person_id"] and (person is None or person["is_deleted"])) or (
        links["deal_id"] and deal is None
    ):
        raise ApiError(404, "Item not found")
    if links["lead_id"] and lead is None:
        raise ApiError(404, "Lead not found")
    if links["activity_id"] and links["activity_id"] not in data.activities:
        raise ApiError(404, "Activity not found")
    now = ctx.state.clock.now()
    file_id = ctx.state.next_id("file", ctx.company.id)
    stem, dot, ext = name.rpartition(".")
    digest = hashlib.sha1(f"{file_id}:{name}".encode(), usedforsecurity=False).hexdigest()
    record: Record = {
        "id": file_id,
        "user_id": ctx.user.id,
        **links,
        "add_time": now,
        "update_time": now,
        "file_name": f"{stem}_{digest}{dot}{ext}" if dot else f"{name}_{digest}",
        "file_type": file_type_for(name, content_type),
        "file_size": len(content),
        "active_flag": True,
        "inline_flag": False,
        "remote_location": "s3",
        "remote_id": name,
        "cid": "",
        "s3_bucket": "",
        "mail_message_id": "",
        "mail_template_id": "",
        "deal_name": deal["title"] if deal else "",
        "person_name": person["name"] if person else "",
        "org_name": "",
        "product_name": "",
        "lead_name": lead["title"] if lead else "",
        "project_name": "",
        "name": name,
        "description": str(form.get("description") or ""),
    }
    data.files[file_id] = StoredFile(record=record, content=content, content_type=content_type)
    return ok(file_json(ctx, record))


def _stored(ctx: ApiContext) -> StoredFile:
    stored = ctx.data.files.get(ctx.path_int())
    if stored is None or not stored.record["active_flag"]:
        raise ApiError(404, "File not found")
    return stored


async def get_file(ctx: ApiContext) -> Response:
    return ok(file_json(ctx, _stored(ctx).record))


async def delete_file(ctx: ApiContext) -> Response:
    stored = _stored(ctx)
    stored.record.update(active_flag=False, update_time=ctx.state.clock.now())
    return ok({"id": stored.record["id"]})


async def download_file(ctx: ApiContext) -> Response:
    stored = _stored(ctx)
    name = stored.record["name"].replace('"', "")
    headers = {"content-disposition": f'attachment; filename="{name}"'}
    return Response(stored.content, media_type="application/octet-stream", headers=headers)


def _sorted_files(ctx: ApiContext, files: list[Record]) -> list[Record]:
    sort = (ctx.query("sort") or "id").strip()
    field, _, direction = sort.partition(" ")
    if field not in ("id", "update_time"):
        raise ApiError(400, "Invalid input: sort - must be id or update_time")
    return sorted(files, key=lambda r: (r[field], r["id"]), reverse=direction.upper() == "DESC")


async def _list_for(ctx: ApiContext, key: str) -> Response:
    owner_id = ctx.path_int()
    store = ctx.data.persons if key == "person_id" else ctx.data.deals
    if owner_id not in store:
        raise ApiError(404, "Person not found" if key == "person_id" else "Deal not found")
    files = [
        f.record for f in ctx.data.files.values() if f.record[key] == owner_id and f.record["active_flag"]
    ]
    page, additional = offset_page(ctx, _sorted_files(ctx, files), max_limit=FILES_MAX_LIMIT, flat=True)
    return ok([file_json(ctx, r) for r in page], additional)


async def person_files(ctx: ApiContext) -> Response:
    return await _list_for(ctx, "person_id")


async def deal_files(ctx: ApiContext) -> Response:
    return await _list_for(ctx, "deal_id")


ENDPOINTS = [
    Endpoint("v1", "post", "/files", upload_file),
    Endpoint("v1", "get", "/files/{id}", get_file),
    Endpoint("v1", "delete", "/files/{id}", delete_file),
    Endpoint("v1", "get", "/files/{id}/download", download_file),
    Endpoint("v1", "get", "/persons/{id}/files", person_files),
    Endpoint("v1", "get", "/deals/{id}/files", deal_files),
]
