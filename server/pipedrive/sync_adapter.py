"""The sync engine's ``CrmGateway`` over ``PipedriveClient``: Pipedrive's records turned into the domain's."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

from server.domain.errors import NotFound
from server.domain.person_events import pipedrive_time
from server.domain.sync import (
    ActivityWrite,
    CrmActivity,
    CrmDeal,
    CrmFile,
    CrmLead,
    CrmPerson,
    CrmUser,
    NewDeal,
    NewPerson,
)
from server.pipedrive.api import items_of
from server.pipedrive.client import PipedriveClient
from server.pipedrive.company_records import (
    ensure_activity_type,
    ensure_link_field,
    find_activity_type,
    find_link_field,
)
from server.pipedrive.inputs import ActivityInput, DealInput, PersonInput
from server.pipedrive.models import Page, Person, as_int, as_str
from server.pipedrive.pagination import cursor_page, iterate_cursor
from server.pipedrive.persons import rfc3339
from server.pipedrive.records import Activity


class PipedriveCrm:
    """One company's Pipedrive through the admin installation's client."""

    def __init__(self, client: PipedriveClient) -> None:
        self.client = client

    async def search_persons(self, term: str, *, exact: bool, field: str = "phone") -> list[CrmPerson]:
        page = await self.client.persons.search(term, field=field, exact_match=exact, limit=50)  # type: ignore[arg-type]
        return [CrmPerson(hit.id, hit.name, hit.phones) for hit in page.items]

    async def persons_updated_since(
        self, since: datetime | None, link_field_key: str
    ) -> AsyncIterator[CrmPerson]:
        async for person in self.client.persons.iterate(updated_since=since):
            link = person.custom_fields.get(link_field_key) if link_field_key else None
            yield CrmPerson(
                id=person.id,
                name=person.name,
                phones=tuple(phone.value for phone in person.phones),
                update_time=pipedrive_time(person.update_time),
                is_deleted=person.is_deleted,
                link_value=link if isinstance(link, str) else "",
            )

    async def create_person(self, person: NewPerson) -> CrmPerson:
        body: PersonInput = {"name": person.name}
        if person.phone:
            body["phones"] = [{"value": person.phone, "primary": True, "label": "mobile"}]
        if person.owner_id is not None:
            body["owner_id"] = person.owner_id
        if person.custom_fields:
            body["custom_fields"] = dict(person.custom_fields)
        return _crm_person(await self.client.persons.create(body))

    async def create_person_with_phones(
        self, name: str, phones: Sequence[str], owner_id: int | None
    ) -> CrmPerson:
        """A Person with all of ``phones``, the first primary (a shared contact card's numbers)."""
        body: dict[str, object] = {
            "name": name,
            "phones": [
                {"value": phone, "primary": position == 0, "label": "mobile"}
                for position, phone in enumerate(phones)
            ],
        }
        if owner_id is not None:
            body["owner_id"] = owner_id
        return _crm_person(await self.client.persons.create(body))  # type: ignore[arg-type]

    async def person(self, person_id: int) -> CrmPerson | None:
        try:
            found = await self.client.persons.get(person_id)
        except NotFound:
            return None
        return _crm_person(found)

    async def set_person_field(self, person_id: int, key: str, value: str) -> None:
        await self.client.persons.update(person_id, {"custom_fields": {key: value}})

    async def open_deals(self, person_id: int, link_field_key: str) -> list[CrmDeal]:
        params: dict[str, str | int | bool | None] = {
            "person_id": person_id,
            "status": "open",
            "sort_by": "update_time",
            "sort_direction": "desc",
            "limit": 100,
        }
        data, _ = await self.client.api.data("GET", "/api/v2/deals", params=params)
        deals = [_deal(raw, link_field_key) for raw in items_of(data)]
        deals.sort(
            key=lambda deal: (deal.update_time or datetime.min.replace(tzinfo=UTC), deal.id), reverse=True
        )
        return deals

    async def deals_updated_since(
        self, since: datetime | None, link_field_key: str
    ) -> AsyncIterator[CrmDeal]:
        async def fetch(cursor: str | None) -> Page[CrmDeal]:
            params: dict[str, str | int | bool | None] = {
                "cursor": cursor,
                "limit": 500,
                "sort_by": "update_time",
                "sort_direction": "asc",
            }
            if since is None:
                params["status"] = "open"
            else:
                params["updated_since"] = rfc3339(since)
            data, more = await self.client.api.data("GET", "/api/v2/deals", params=params)
            return cursor_page([_deal(raw, link_field_key) for raw in items_of(data)], more)

        async for deal in iterate_cursor(fetch):
            yield deal

    async def first_stage(self, pipeline_id: int | None) -> tuple[int, int]:
        if pipeline_id is None:
            pipelines = [p for p in await self.client.deals.pipelines() if not p.is_deleted]
            if not pipelines:
                raise NotFound("The company has no pipeline to create deals in", reason="no_pipeline")
            pipeline_id = min(pipelines, key=lambda p: (p.order_nr, p.id)).id
        stages = [s for s in await self.client.deals.stages(pipeline_id) if not s.is_deleted]
        if not stages:
            raise NotFound(f"Pipeline {pipeline_id} has no stages", reason="no_stage")
        return pipeline_id, min(stages, key=lambda s: (s.order_nr, s.id)).id

    async def create_deal(self, deal: NewDeal) -> CrmDeal:
        body: DealInput = {
            "title": deal.title,
            "person_id": deal.person_id,
            "pipeline_id": deal.pipeline_id,
            "stage_id": deal.stage_id,
        }
        if deal.owner_id is not None:
            body["owner_id"] = deal.owner_id
        if deal.custom_fields:
            body["custom_fields"] = dict(deal.custom_fields)
        created = await self.client.deals.create(body)
        return CrmDeal(created.id, created.title, created.status or "open")

    async def set_deal_field(self, deal_id: int, key: str, value: str) -> None:
        await self.client.deals.update(deal_id, {"custom_fields": {key: value}})

    async def create_lead(self, title: str, person_id: int, owner_id: int | None) -> CrmLead:
        body: dict[str, Any] = {"title": title, "person_id": person_id}
        if owner_id is not None:
            body["owner_id"] = owner_id
        lead = await self.client.leads.create(body)  # type: ignore[arg-type]
        return CrmLead(lead.id, lead.title)

    async def leads_of_person(self, person_id: int) -> list[CrmLead]:
        return [CrmLead(lead.id, lead.title) async for lead in self.client.leads.of_person(person_id)]

    # The engine's fallback set-up: the same lookups and creates as install set-up (one implementation).
    async def find_activity_type(self) -> str | None:
        return await find_activity_type(self.client)

    async def create_activity_type(self) -> str:
        return await ensure_activity_type(self.client)

    async def find_field(self, entity: str) -> str | None:
        return await find_link_field(self.client, "person" if entity == "person" else "deal")

    async def create_field(self, entity: str) -> str:
        return await ensure_link_field(self.client, "person" if entity == "person" else "deal")

    async def users(self) -> list[CrmUser]:
        return [CrmUser(u.id, u.email, u.active, u.is_admin) for u in await self.client.users.all()]

    async def create_activity(self, activity: ActivityWrite) -> int:
        return (await self.client.activities.create(_activity_body(activity))).id

    async def update_activity(self, activity_id: int, activity: ActivityWrite) -> None:
        await self.client.activities.update(activity_id, _activity_body(activity))

    async def delete_activity(self, activity_id: int) -> None:
        await self.client.api.data("DELETE", f"/api/v2/activities/{activity_id}")

    async def activities_of_person(self, person_id: int, *, since: datetime | None) -> list[CrmActivity]:
        async def fetch(cursor: str | None) -> Page[Activity]:
            params = {
                "person_id": person_id,
                "cursor": cursor,
                "limit": 500,
                "updated_since": rfc3339(since) if since is not None else None,
            }
            data, more = await self.client.api.data("GET", "/api/v2/activities", params=params)
            return cursor_page([Activity.parse(item) for item in items_of(data)], more)

        return [
            CrmActivity(a.id, a.subject, a.type, a.due_date, a.note or "", a.is_deleted)
            async for a in iterate_cursor(fetch)
        ]

    async def upload_file(
        self,
        content: bytes,
        *,
        filename: str,
        mime: str,
        person_id: int | None = None,
        deal_id: int | None = None,
    ) -> int:
        stored = await self.client.files.upload(
            content, filename=filename, mime_type=mime, person_id=person_id, deal_id=deal_id
        )
        return stored.id

    async def delete_file(self, file_id: int) -> None:
        await self.client.files.delete(file_id)

    async def files_of(self, target: str, target_id: int) -> list[CrmFile]:
        api = self.client.persons if target == "person" else self.client.deals
        found: list[CrmFile] = []
        start: int | None = 0
        while start is not None:
            page = await api.files(target_id, start=start)
            found.extend(CrmFile(f.id, f.name, f.file_size) for f in page.items)
            start = page.next_start if page.next_start and page.next_start > start else None
        return found


def _deal(raw: dict[str, Any], link_field_key: str) -> CrmDeal:
    custom = raw.get("custom_fields") or {}
    link = custom.get(link_field_key) if link_field_key and isinstance(custom, dict) else None
    return CrmDeal(
        as_int(raw.get("id")) or 0,
        as_str(raw.get("title")) or "",
        as_str(raw.get("status")) or "open",
        pipedrive_time(as_str(raw.get("update_time"))),
        link if isinstance(link, str) else "",
        person_id=as_int(raw.get("person_id")),
        is_deleted=bool(raw.get("is_deleted")),
    )


def _activity_body(activity: ActivityWrite) -> ActivityInput:
    body: ActivityInput = {
        "subject": activity.subject,
        "type": activity.type_key,
        "due_date": activity.due_date,
        "note": activity.note,
        "done": activity.done,
        "participants": [{"person_id": activity.person_id, "primary": True}],
    }
    if activity.deal_id is not None:
        body["deal_id"] = activity.deal_id
    elif activity.lead_id is not None:
        body["lead_id"] = activity.lead_id
    if activity.owner_id is not None:
        body["owner_id"] = activity.owner_id
    return body


def _crm_person(person: Person) -> CrmPerson:
    return CrmPerson(
        person.id,
        person.name,
        tuple(phone.value for phone in person.phones),
        pipedrive_time(person.update_time),
        person.is_deleted,
    )
