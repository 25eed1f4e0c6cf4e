"""Deals, pipelines and stages (v2); deal files (v1)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Literal

from server.pipedrive.api import PipedriveApi, items_of, object_of
from server.pipedrive.inputs import DealInput
from server.pipedrive.models import Deal, DealHit, Page, Pipeline, Stage, as_dict
from server.pipedrive.pagination import cursor_page, iterate_cursor, offset_page
from server.pipedrive.records import StoredFile

DealStatus = Literal["open", "won", "lost", "deleted"]


class DealsApi:
    def __init__(self, api: PipedriveApi) -> None:
        self._api = api

    async def page(
        self,
        *,
        person_id: int | None = None,
        status: DealStatus | None = None,
        cursor: str | None = None,
        limit: int | None = None,
    ) -> Page[Deal]:
        """One page of ``GET /api/v2/deals`` (archived deals are not included)."""
        params = {"person_id": person_id, "status": status, "cursor": cursor, "limit": limit}
        data, more = await self._api.data("GET", "/api/v2/deals", params=params)
        return cursor_page([Deal.parse(item) for item in items_of(data)], more)

    def of_person(self, person_id: int, *, status: DealStatus | None = None) -> AsyncIterator[Deal]:
        async def fetch(cursor: str | None) -> Page[Deal]:
            return await self.page(person_id=person_id, status=status, cursor=cursor)

        return iterate_cursor(fetch)

    async def search(self, term: str, *, limit: int = 10) -> list[DealHit]:
        """The first page of ``GET /api/v2/deals/search`` on the title (a search: 20 tokens, and Pipedrive's
        search rate limit)."""
        data, _ = await self._api.data(
            "GET",
            "/api/v2/deals/search",
            params={"term": term, "fields": "title", "limit": limit},
            search=True,
        )
        return [DealHit.parse(item) for item in items_of(as_dict(data).get("items"))]

    async def get(self, deal_id: int) -> Deal:
        data, _ = await self._api.data("GET", f"/api/v2/deals/{deal_id}")
        return Deal.parse(object_of(data, "deal"))

    async def create(self, deal: DealInput) -> Deal:
        """``POST /api/v2/deals``; send a ``stage_id`` of the chosen pipeline rather than rely on defaults."""
        data, _ = await self._api.data("POST", "/api/v2/deals", json=dict(deal))
        return Deal.parse(object_of(data, "deal"))

    async def update(self, deal_id: int, changes: DealInput) -> Deal:
        data, _ = await self._api.data("PATCH", f"/api/v2/deals/{deal_id}", json=dict(changes))
        return Deal.parse(object_of(data, "deal"))

    async def files(self, deal_id: int, *, start: int = 0, limit: int = 100) -> Page[StoredFile]:
        data, more = await self._api.data(
            "GET", f"/api/v1/deals/{deal_id}/files", params={"start": start, "limit": min(limit, 100)}
        )
        return offset_page([StoredFile.parse(item) for item in items_of(data)], more)

    async def pipelines(self) -> list[Pipeline]:
        """Every pipeline; the lowest ``order_nr`` is the default one."""

        async def fetch(cursor: str | None) -> Page[Pipeline]:
            data, more = await self._api.data(
                "GET", "/api/v2/pipelines", params={"cursor": cursor, "limit": 500}
            )
            return cursor_page([Pipeline.parse(item) for item in items_of(data)], more)

        return [pipeline async for pipeline in iterate_cursor(fetch)]

    async def stages(self, pipeline_id: int | None = None) -> list[Stage]:
        """Every stage (of one pipeline), in pipeline order."""

        async def fetch(cursor: str | None) -> Page[Stage]:
            params = {"pipeline_id": pipeline_id, "sort_by": "order_nr", "cursor": cursor, "limit": 500}
            data, more = await self._api.data("GET", "/api/v2/stages", params=params)
            return cursor_page([Stage.parse(item) for item in items_of(data)], more)

        return [stage async for stage in iterate_cursor(fetch)]
