"""Both pagination styles: v2 cursors and v1 offsets."""

from __future__ import annotations

import httpx

from server.pipedrive.models import Page
from server.pipedrive.pagination import iterate_cursor, iterate_offset, next_cursor, next_start
from tests.pipedrive.fakes import FakePipedrive, Harness, envelope


def test_next_cursor() -> None:
    assert next_cursor({"next_cursor": "abc"}) == "abc"
    assert next_cursor({"next_cursor": None}) is None
    assert next_cursor({}) is None


def test_next_start() -> None:
    more = {"start": 0, "limit": 100, "more_items_in_collection": True, "next_start": 100}
    assert next_start({"pagination": more}) == 100
    assert next_start({"pagination": {**more, "next_start": None}}) == 100, (
        "start + limit when next_start is absent"
    )
    assert next_start({"pagination": {**more, "more_items_in_collection": False}}) is None
    assert next_start({}) is None


async def test_iterate_cursor_follows_cursors_to_the_end() -> None:
    pages = {None: Page((1, 2), next_cursor="c1"), "c1": Page((3,), next_cursor="c2"), "c2": Page((4,))}
    asked: list[str | None] = []

    async def fetch(cursor: str | None) -> Page[int]:
        asked.append(cursor)
        return pages[cursor]

    assert [item async for item in iterate_cursor(fetch)] == [1, 2, 3, 4]
    assert asked == [None, "c1", "c2"]


async def test_iterate_cursor_stops_on_a_repeated_cursor_and_at_max_pages() -> None:
    async def stuck(cursor: str | None) -> Page[int]:
        return Page((1,), next_cursor="same")

    async def endless(cursor: str | None) -> Page[int]:
        return Page((1,), next_cursor=str(int(cursor or 0) + 1))

    assert [item async for item in iterate_cursor(stuck)] == [1, 1]
    assert len([item async for item in iterate_cursor(endless, max_pages=5)]) == 5


async def test_iterate_offset_follows_next_start() -> None:
    async def fetch(start: int) -> Page[int]:
        items = tuple(range(start, min(start + 2, 5)))
        return Page(items, next_start=start + 2 if start + 2 < 5 else None)

    assert [item async for item in iterate_offset(fetch)] == [0, 1, 2, 3, 4]


async def test_iterate_offset_stops_when_start_does_not_advance() -> None:
    async def fetch(start: int) -> Page[int]:
        return Page((start,), next_start=0)

    assert [item async for item in iterate_offset(fetch)] == [0]


async def test_persons_iterate_walks_v2_cursor_pages(fake: FakePipedrive, harness: Harness) -> None:
    def persons(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("cursor") == "p2":
            return envelope([{"id": 3, "name": "C"}], {"next_cursor": None})
        return envelope([{"id": 1, "name": "A"}, {"id": 2, "name": "B"}], {"next_cursor": "p2"})

    fake.on("GET", "/api/v2/persons", persons)

    names = [
        person.name async for person in harness.client.persons.iterate(updated_since="2026-03-01T00:00:00Z")
    ]

    assert names == ["A", "B", "C"]
    first, second = fake.sent("GET", "/api/v2/persons")
    assert first.url.params["updated_since"] == "2026-03-01T00:00:00Z" and "cursor" not in first.url.params
    assert second.url.params["cursor"] == "p2"


async def test_leads_of_person_walks_v1_offset_pages(fake: FakePipedrive, harness: Harness) -> None:
    def leads(request: httpx.Request) -> httpx.Response:
        start = int(request.url.params["start"])
        more = start == 0
        pagination = {"start": start, "limit": 100, "more_items_in_collection": more}
        if more:
            pagination["next_start"] = 100
        return envelope([{"id": f"lead-{start}", "title": "t", "person_id": 42}], {"pagination": pagination})

    fake.on("GET", "/api/v1/leads", leads)

    ids = [lead.id async for lead in harness.client.leads.of_person(42)]

    assert ids == ["lead-0", "lead-100"]
    assert [r.url.params["start"] for r in fake.sent("GET", "/api/v1/leads")] == ["0", "100"]
