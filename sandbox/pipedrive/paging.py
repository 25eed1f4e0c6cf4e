"""Cursor paging (v2) and offset paging (v1), as Pipedrive shapes them."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from typing import Any, TypeVar

from sandbox.pipedrive.gateway import ApiContext, ApiError, bad_request
from sandbox.pipedrive.payloads import query_int

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, number = text.partition(":")
        if kind != "o" or not number.isdigit():
            raise ValueError(cursor)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise bad_request("Validation failed: cursor: Invalid cursor") from exc


def cursor_page(
    ctx: ApiContext, items: Sequence[T], *, max_limit: int = MAX_LIMIT
) -> tuple[list[T], dict[str, Any]]:
    limit = query_int(ctx.query("limit"), "limit") or DEFAULT_LIMIT
    if limit < 1 or limit > max_limit:
        raise bad_request(f"Validation failed: limit: Must be between 1 and {max_limit}")
    cursor = ctx.query("cursor")
    offset = decode_cursor(cursor) if cursor else 0
    page = list(items[offset : offset + limit])
    more = offset + limit < len(items)
    next_cursor = encode_cursor(offset + limit) if more else None
    additional: dict[str, Any] = {"next_cursor": next_cursor}
    if next_cursor is None and not ctx.state.emit_nulls:
        additional = {}
    return page, additional


def offset_page(
    ctx: ApiContext, items: Sequence[T], *, max_limit: int = MAX_LIMIT, flat: bool = False
) -> tuple[list[T], dict[str, Any]]:
    start = query_int(ctx.query("start"), "start", strict=False) or 0
    raw_limit = query_int(ctx.query("limit"), "limit", strict=False)
    limit = min(raw_limit if raw_limit is not None else DEFAULT_LIMIT, max_limit)
    if start < 0 or limit < 1:
        raise ApiError(400, "Invalid input: start/limit must be positive")
    page = list(items[start : start + limit])
    more = start + limit < len(items)
    pagination: dict[str, Any] = {"start": start, "limit": limit, "more_items_in_collection": more}
    if more:
        pagination["next_start"] = start + limit
    additional: dict[str, Any] = {"pagination": pagination}
    if flat:
        additional.update({k: pagination[k] for k in ("start", "limit", "more_items_in_collection")})
    return page, additional
