"""The ``company_settings`` row as install sets it up: defaults, then what setup created in Pipedrive."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import SETTINGS_DEFAULTS
from server.storage.dialect import upsert_insert
from server.storage.tables import CompanySettings, table_of, utcnow

_table = table_of(CompanySettings)


@dataclass(frozen=True, slots=True)
class SetupState:
    """The keys setup stored; setup is complete when all three are known."""

    activity_type_key: str
    person_link_field_key: str
    deal_link_field_key: str

    @property
    def complete(self) -> bool:
        return bool(self.activity_type_key and self.person_link_field_key and self.deal_link_field_key)


class SqlCompanySetupStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def ensure_defaults(self, company_id: int) -> None:
        """Create the company's settings row with the defaults, unless it exists (admins' choices stay)."""
        statement = (
            upsert_insert(self._engine, _table)
            .values(
                company_id=company_id,
                **SETTINGS_DEFAULTS.row(),
                updated_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["company_id"])
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def record(
        self, company_id: int, *, activity_type_key: str, person_link_field_key: str, deal_link_field_key: str
    ) -> None:
        await self.ensure_defaults(company_id)
        statement = (
            update(_table)
            .where(_table.c.company_id == company_id)
            .values(
                activity_type_key=activity_type_key,
                person_link_field_key=person_link_field_key,
                deal_link_field_key=deal_link_field_key,
                updated_at=utcnow(),
            )
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def state(self, company_id: int) -> SetupState | None:
        """``None`` when the company has no settings row yet."""
        query = select(
            _table.c.activity_type_key, _table.c.person_link_field_key, _table.c.deal_link_field_key
        ).where(_table.c.company_id == company_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else SetupState(row[0], row[1], row[2])
