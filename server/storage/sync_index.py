"""The persisted phone index: each company's Pipedrive Persons with their phones as typed."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.matching import PersonPhones
from server.domain.sync import CrmPerson
from server.storage.dialect import upsert_insert
from server.storage.tables import table_of, utcnow
from server.storage.tables_sync import PhoneIndexEntry, SyncCompanyState

_entries = table_of(PhoneIndexEntry)
_state = table_of(SyncCompanyState)


class SqlPhoneIndexStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def is_built(self, company_id: int) -> bool:
        query = select(_state.c.index_built).where(_state.c.company_id == company_id)
        async with self._engine.connect() as connection:
            return bool((await connection.execute(query)).scalar())

    async def watermark(self, company_id: int) -> datetime | None:
        query = select(_state.c.index_watermark).where(_state.c.company_id == company_id)
        async with self._engine.connect() as connection:
            value = (await connection.execute(query)).scalar()
        return value if isinstance(value, datetime) else None

    async def set_watermark(self, company_id: int, watermark: datetime | None) -> None:
        values = {"index_built": True, "index_watermark": watermark, "updated_at": utcnow()}
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _state)
                .values(company_id=company_id, **values)
                .on_conflict_do_update(index_elements=["company_id"], set_=values)
            )

    async def persons(self, company_id: int) -> list[PersonPhones]:
        query = select(_entries).where(_entries.c.company_id == company_id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            PersonPhones(
                row["person_id"], tuple(json.loads(row["phones"] or "[]")), _aware(row["update_time"])
            )
            for row in rows
        ]

    async def save_persons(self, company_id: int, persons: Iterable[CrmPerson]) -> None:
        """Upsert the records (a deleted Person, or one without phones, is removed)."""
        async with self._engine.begin() as connection:
            for person in persons:
                where = (_entries.c.company_id == company_id) & (_entries.c.person_id == person.id)
                if person.is_deleted or not person.phones:
                    await connection.execute(delete(_entries).where(where))
                    continue
                values = {
                    "name": person.name[:255],
                    "phones": json.dumps(list(person.phones)),
                    "update_time": person.update_time,
                }
                if person.link_value:
                    values["link_value"] = person.link_value[:255]
                await connection.execute(
                    upsert_insert(self._engine, _entries)
                    .values(company_id=company_id, person_id=person.id, **values)
                    .on_conflict_do_update(index_elements=["company_id", "person_id"], set_=values)
                )

    async def person_name(self, company_id: int, person_id: int) -> str | None:
        query = select(_entries.c.name).where(
            (_entries.c.company_id == company_id) & (_entries.c.person_id == person_id)
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalar()

    async def link_value(self, company_id: int, person_id: int) -> str | None:
        query = select(_entries.c.link_value).where(
            (_entries.c.company_id == company_id) & (_entries.c.person_id == person_id)
        )
        async with self._engine.connect() as connection:
            return (await connection.execute(query)).scalar()

    async def set_link_value(self, company_id: int, person_id: int, value: str) -> None:
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_entries)
                .where((_entries.c.company_id == company_id) & (_entries.c.person_id == person_id))
                .values(link_value=value[:255])
            )


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
