"""Persons (v2): search by phone, read, create, update, list; their files (v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Literal

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.inputs import PersonInput
from server.pipedrive.models import Page, Person, PersonHit, as_dict
from server.pipedrive.pagination import cursor_page, iterate_cursor, offset_page
from server.pipedrive.records import StoredFile

SearchField = Literal["phone", "email", "name", "notes", "custom_fields"]
MAX_IDS = 100


def rfc3339(moment: datetime | str) -> str:
    """Pipedrive v2's timestamp format (``2026-01-31T10:00:00Z``)."""
    if isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class PersonsApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def search(
        self,
        term: str,
        *,
        field: SearchField | None = "phone",
        exact_match: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[PersonHit]:
        """One page of ``GET /api/v2/persons/search`` (20 tokens; at most 10 calls per 2 s per token)."""
        data, more = await self._api.data(
            "GET",
            "/api/v2/persons/search",
            params={
                "term": term,
                "fields": field,
                "exact_match": exact_match,
                "limit": limit,
                "cursor": cursor,
            },
            search=True,
        )
        items = items_of(as_dict(data).get("items"))
        return cursor_page([PersonHit.parse(item) for item in items], more)

    def search_all(
        self, term: str, *, field: SearchField | None = "phone", exact_match: bool = False
    ) -> AsyncIterator[PersonHit]:
        async def fetch(cursor: str | None) -> Page[PersonHit]:
            return await self.search(term, field=field, exact_match=exact_match, cursor=cursor)

        return iterate_cursor(fetch)

    async def get(self, person_id: int) -> Person:
        data, _ = await self._api.data("GET", f"/api/v2/persons/{person_id}")
        return Person.parse(object_of(data, "person"))

    async def create(self, person: PersonInput) -> Person:
        data, _ = await self._api.data("POST", "/api/v2/persons", json=dict(person))
        return Person.parse(object_of(data, "person"))

    async def update(self, person_id: int, changes: PersonInput) -> Person:
        """``PATCH``: arrays (phones, emails) replace the whole list; send existing entries too."""
        data, _ = await self._api.data("PATCH", f"/api/v2/persons/{person_id}", json=dict(changes))
        return Person.parse(object_of(data, "person"))

    async def page(
        self,
        *,
        ids: Sequence[int] | None = None,
        updated_since: datetime | str | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[Person]:
        """One page of ``GET /api/v2/persons`` (at most 100 ``ids``)."""
        if ids is not None and len(ids) > MAX_IDS:
            raise ValueError(f"Pipedrive takes at most {MAX_IDS} ids per call")
        params = {
            "ids": ",".join(str(i) for i in ids) if ids else None,
            "updated_since": rfc3339(updated_since) if updated_since is not None else None,
            "cursor": cursor,
            "limit": limit,
        }
        data, more = await self._api.data("GET", "/api/v2/persons", params=params)
        return cursor_page([Person.parse(item) for item in items_of(data)], more)

    def iterate(self, *, updated_since: datetime | str | None = None) -> AsyncIterator[Person]:
        async def fetch(cursor: str | None) -> Page[Person]:
            return await self.page(updated_since=updated_since, cursor=cursor, limit=500)

        return iterate_cursor(fetch)

    async def files(self, person_id: int, *, start: int = 0, limit: int = 100) -> Page[StoredFile]:
        """One page of ``GET /api/v1/persons/{id}/files`` (``limit`` at most 100)."""
        data, more = await self._api.data(
            "GET", f"/api/v1/persons/{person_id}/files", params={"start": start, "limit": min(limit, 100)}
        )
        return offset_page([StoredFile.parse(item) for item in items_of(data)], more)
