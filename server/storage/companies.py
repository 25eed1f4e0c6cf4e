"""Company store on SQLite or PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.models import Company
from server.storage.dialect import upsert_insert
from server.storage.tables import Company as CompanyRow
from server.storage.tables import table_of, utcnow


class SqlCompanyStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def upsert(
        self, pipedrive_company_id: int, *, name: str, api_domain: str, timezone: str
    ) -> Company:
        now = utcnow()
        values = {"name": name, "api_domain": api_domain, "timezone": timezone, "updated_at": now}
        statement = (
            upsert_insert(self._engine, CompanyRow)
            .values(pipedrive_company_id=pipedrive_company_id, created_at=now, **values)
            .on_conflict_do_update(index_elements=["pipedrive_company_id"], set_=values)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
        company = await self.get(pipedrive_company_id)
        assert company is not None
        return company

    async def get(self, pipedrive_company_id: int) -> Company | None:
        table = table_of(CompanyRow)
        return await self._one(select(table).where(table.c.pipedrive_company_id == pipedrive_company_id))

    async def by_id(self, company_id: int) -> Company | None:
        """By WaPipe's own id (for jobs holding one)."""
        table = table_of(CompanyRow)
        return await self._one(select(table).where(table.c.id == company_id))

    async def _one(self, query: Any) -> Company | None:
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        if row is None:
            return None
        return Company(
            id=row["id"],
            pipedrive_company_id=row["pipedrive_company_id"],
            name=row["name"],
            api_domain=row["api_domain"],
            timezone=row["timezone"],
            created_at=row["created_at"],
        )
