"""Walking Pipedrive lists: v2 cursors and v1 offsets, as async iterators.

v2: ``additional_data.next_cursor`` is a string, or ``null`` on the last page.
v1: ``additional_data.pagination = {start, limit, more_items_in_collection, next_start}``.
Both iterators stop at ``max_pages`` so a misbehaving server cannot keep a job looping forever.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

from server.pipedrive.models import Page, as_dict, as_int

T = TypeVar("T")
MAX_PAGES = 1000


def next_cursor(additional_data: Mapping[str, Any]) -> str | None:
    cursor = additional_data.get("next_cursor")
    return cursor if isinstance(cursor, str) and cursor else None


def next_start(additional_data: Mapping[str, Any]) -> int | None:
    pagination = as_dict(additional_data.get("pagination"))
    if pagination.get("more_items_in_collection") is not True:
        return None
    start = as_int(pagination.get("next_start"))
    if start is None:
        current, limit = as_int(pagination.get("start")), as_int(pagination.get("limit"))
        start = current + limit if current is not None and limit else None
    return start


def cursor_page(items: list[T], additional_data: Mapping[str, Any]) -> Page[T]:
    return Page(items=tuple(items), next_cursor=next_cursor(additional_data))


def offset_page(items: list[T], additional_data: Mapping[str, Any]) -> Page[T]:
    return Page(items=tuple(items), next_start=next_start(additional_data))


async def iterate_cursor(
    fetch: Callable[[str | None], Awaitable[Page[T]]], *, max_pages: int = MAX_PAGES
) -> AsyncIterator[T]:
    """Every item of a cursor-paginated list; ``fetch(cursor)`` returns one page (``None`` = first)."""
    cursor: str | None = None
    for _ in range(max_pages):
        page = await fetch(cursor)
        for item in page.items:
            yield item
        if page.next_cursor is None or page.next_cursor == cursor:
            return
        cursor = page.next_cursor


async def iterate_offset(
    fetch: Callable[[int], Awaitable[Page[T]]], *, max_pages: int = MAX_PAGES
) -> AsyncIterator[T]:
    """Every item of an offset-paginated list; ``fetch(start)`` returns one page (first ``start`` is 0)."""
    start = 0
    for _ in range(max_pages):
        page = await fetch(start)
        for item in page.items:
            yield item
        if page.next_start is None or page.next_start <= start:
            return
        start = page.next_start
