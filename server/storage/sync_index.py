"""The persisted phone index: each company's Pipedrive Persons with their phones as typed, its
``updated_since`` mark, and the lease of its full listing (one worker lists a company's Persons; the others
read what it stored)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.matching import PersonPhones
from server.domain.sync import CrmPerson
from server.storage.dialect import upsert_insert
from server.storage.tables import table_of, utcnow
from server.storage.tables_sync import PhoneIndexEntry, SyncCompanyState
from server.storage.times import stored_time

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

    async def claim_listing(self, company_id: int, *, owner: str, lease: timedelta, now: datetime) -> bool:
        """Take the company's full listing for ``owner`` until ``now + lease`` (``False`` while another
        owner's lease runs); the company's state row is created first when it has none."""
        free = or_(
            _state.c.index_lease_until.is_(None),
            _state.c.index_lease_until <= now,
            _state.c.index_lease_owner == owner,
        )
        claim = (
            update(_state)
            .where((_state.c.company_id == company_id) & free)
            .values(index_lease_owner=owner, index_lease_until=now + lease)
        )
        async with self._engine.begin() as connection:
            if (await connection.execute(claim)).rowcount == 1:
                return True
            held = (
                await connection.execute(select(_state.c.company_id).where(_state.c.company_id == company_id))
            ).first()
            if held is not None:
                return False  # another worker lists
            await connection.execute(
                upsert_insert(self._engine, _state)
                .values(company_id=company_id, updated_at=utcnow())
                .on_conflict_do_nothing(index_elements=["company_id"])
            )
            return bool((await connection.execute(claim)).rowcount == 1)

    async def renew_listing(self, company_id: int, *, owner: str, until: datetime) -> bool:
        """Hold the listing until ``until``; ``False`` when it is no longer ``owner``'s."""
        async with self._engine.begin() as connection:
            renewed = await connection.execute(
                update(_state)
                .where((_state.c.company_id == company_id) & (_state.c.index_lease_owner == owner))
                .values(index_lease_until=until)
            )
        return bool(renewed.rowcount == 1)

    async def finish_listing(
        self, company_id: int, *, owner: str, watermark: datetime | None, listed_at: datetime
    ) -> None:
        """Record a complete listing (the index is built, with its watermark and time) and free its lease."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_state)
                .where(_state.c.company_id == company_id)
                .values(
                    index_built=True,
                    index_watermark=watermark,
                    index_listed_at=listed_at,
                    updated_at=utcnow(),
                )
            )
            await connection.execute(
                update(_state)
                .where((_state.c.company_id == company_id) & (_state.c.index_lease_owner == owner))
                .values(index_lease_owner="", index_lease_until=None)
            )

    async def release_listing(self, company_id: int, *, owner: str) -> None:
        """Free the listing, if ``owner`` still holds it (a listing that failed: another may start over)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                update(_state)
                .where((_state.c.company_id == company_id) & (_state.c.index_lease_owner == owner))
                .values(index_lease_owner="", index_lease_until=None)
            )

    async def listed_at(self, company_id: int) -> datetime | None:
        """When the company's Persons were last listed in full (``None``: never)."""
        query = select(_state.c.index_listed_at).where(_state.c.company_id == company_id)
        async with self._engine.connect() as connection:
            value = (await connection.execute(query)).scalar()
        return value if isinstance(value, datetime) else None

    async def persons(self, company_id: int) -> list[PersonPhones]:
        query = select(_entries).where(_entries.c.company_id == company_id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).mappings().all()
        return [
            PersonPhones(
                row["person_id"], tuple(json.loads(row["phones"] or "[]")), stored_time(row["update_time"])
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
