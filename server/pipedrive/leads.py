"""Leads and lead labels (v1 only: there is no v2 Leads API)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.inputs import LeadInput
from server.pipedrive.models import Lead, LeadLabel, LeadLabelColor, Page
from server.pipedrive.pagination import iterate_offset, offset_page


class LeadsApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def create(self, lead: LeadInput) -> Lead:
        """``POST /api/v1/leads`` (201); needs ``person_id`` or ``organization_id``."""
        if "person_id" not in lead and "organization_id" not in lead:
            raise ValueError("a lead needs a person_id or an organization_id")
        data, _ = await self._api.data("POST", "/api/v1/leads", json=dict(lead))
        return Lead.parse(object_of(data, "lead"))

    async def page(self, *, person_id: int | None = None, start: int = 0, limit: int = 100) -> Page[Lead]:
        params = {"person_id": person_id, "start": start, "limit": limit}
        data, more = await self._api.data("GET", "/api/v1/leads", params=params)
        return offset_page([Lead.parse(item) for item in items_of(data)], more)

    def of_person(self, person_id: int) -> AsyncIterator[Lead]:
        async def fetch(start: int) -> Page[Lead]:
            return await self.page(person_id=person_id, start=start)

        return iterate_offset(fetch)

    async def labels(self) -> list[LeadLabel]:
        data, _ = await self._api.data("GET", "/api/v1/leadLabels")
        return [LeadLabel.parse(item) for item in items_of(data)]

    async def create_label(self, name: str, color: LeadLabelColor) -> LeadLabel:
        data, _ = await self._api.data("POST", "/api/v1/leadLabels", json={"name": name, "color": color})
        return LeadLabel.parse(object_of(data, "lead label"))
