"""Reading Pipedrive's lists whole: saved filters, and Persons, Deals and Organizations by filter or by id.

Each list is read 500 records a page (``limit`` at most 500), by id 100 a call (Pipedrive takes at most 100
``ids``); a filter's list is walked with its cursor. Records come back as Pipedrive's JSON objects, for
``server.pipedrive.recipients`` to read; ``ids`` Pipedrive does not know are simply not in the answer.
Errors are the domain's, from the request pipeline (an unknown filter is ``NotFound``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from server.pipedrive.api import PipedriveApi, items_of
from server.pipedrive.models import Page, as_dict
from server.pipedrive.pagination import cursor_page, iterate_cursor

Listed = Literal["persons", "deals", "organizations"]
FilterType = Literal["people", "deals", "org"]
FieldsOf = Literal["person", "deal", "organization"]
PAGE_SIZE = 500  # Pipedrive's largest page
IDS_PER_CALL = 100  # Pipedrive's most ``ids`` per call
_FIELD_PATHS: dict[FieldsOf, str] = {
    "person": "/api/v2/personFields",
    "deal": "/api/v2/dealFields",
    "organization": "/api/v2/organizationFields",
}
Record = Mapping[str, Any]


def chunks(ids: Sequence[int], size: int = IDS_PER_CALL) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


class Lists:
    """One installation's reads of whole lists."""

    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def saved_filters(self, filter_type: FilterType) -> list[Record]:
        """``GET /api/v1/filters?type=...``: the filters the installation's user sees (one request)."""
        data, _ = await self._api.data("GET", "/api/v1/filters", params={"type": filter_type})
        return [as_dict(item) for item in items_of(data)]

    async def by_filter(self, listed: Listed, filter_id: int) -> list[Record]:
        """Every record of ``/api/v2/{listed}`` the filter matches, in Pipedrive's order."""

        async def fetch(cursor: str | None) -> Page[Record]:
            params = {"filter_id": filter_id, "limit": PAGE_SIZE, "cursor": cursor}
            data, more = await self._api.data("GET", f"/api/v2/{listed}", params=params)
            return cursor_page([as_dict(item) for item in items_of(data)], more)

        return [record async for record in iterate_cursor(fetch)]

    async def by_ids(self, listed: Listed, ids: Sequence[int]) -> dict[int, Record]:
        """The records with these ids that Pipedrive knows, by id (100 ids a call)."""
        found: dict[int, Record] = {}
        unique = list(dict.fromkeys(ids))
        for part in chunks(unique):
            params: dict[str, str | int] = {"ids": ",".join(str(i) for i in part), "limit": IDS_PER_CALL}
            data, _ = await self._api.data("GET", f"/api/v2/{listed}", params=params)
            for item in items_of(data):
                record = as_dict(item)
                if isinstance(record.get("id"), int):
                    found[record["id"]] = record
        return found

    async def fields(self, entity: FieldsOf) -> list[Record]:
        """Every field definition of ``entity`` (v2: ``field_code``, ``field_name``, ``options``)."""

        async def fetch(cursor: str | None) -> Page[Record]:
            params = {"limit": PAGE_SIZE, "cursor": cursor}
            data, more = await self._api.data("GET", _FIELD_PATHS[entity], params=params)
            return cursor_page([as_dict(item) for item in items_of(data)], more)

        return [record async for record in iterate_cursor(fetch)]

    async def user_names(self) -> dict[int, str]:
        """``GET /api/v1/users``: every user's name by id (one request)."""
        data, _ = await self._api.data("GET", "/api/v1/users")
        names: dict[int, str] = {}
        for item in items_of(data):
            user = as_dict(item)
            if isinstance(user.get("id"), int) and isinstance(user.get("name"), str):
                names[user["id"]] = user["name"]
        return names
