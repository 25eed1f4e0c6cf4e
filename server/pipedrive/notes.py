"""Notes (v1 only)."""

from __future__ import annotations

from typing import Any

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.models import Page
from server.pipedrive.pagination import offset_page
from server.pipedrive.records import Note


class NotesApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def create(
        self,
        content: str,
        *,
        person_id: int | None = None,
        deal_id: int | None = None,
        lead_id: str | None = None,
    ) -> Note:
        """``content`` is HTML (Pipedrive sanitises it); attach to at least one person, deal or lead."""
        links: dict[str, Any] = {"person_id": person_id, "deal_id": deal_id, "lead_id": lead_id}
        body = {"content": content, **{key: value for key, value in links.items() if value is not None}}
        if len(body) == 1:
            raise ValueError("a note must be attached to a person, deal or lead")
        data, _ = await self._api.data("POST", "/api/v1/notes", json=body)
        return Note.parse(object_of(data, "note"))

    async def update(self, note_id: int, content: str) -> Note:
        data, _ = await self._api.data("PUT", f"/api/v1/notes/{note_id}", json={"content": content})
        return Note.parse(object_of(data, "note"))

    async def page(
        self, *, person_id: int | None = None, deal_id: int | None = None, start: int = 0, limit: int = 100
    ) -> Page[Note]:
        params = {"person_id": person_id, "deal_id": deal_id, "start": start, "limit": limit}
        data, more = await self._api.data("GET", "/api/v1/notes", params=params)
        return offset_page([Note.parse(item) for item in items_of(data)], more)
