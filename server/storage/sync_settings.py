"""A company's settings as the sync engine reads them, and the keys setup created in Pipedrive."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import SETTINGS_DEFAULTS, ImportFrequency, NewChatAction, SyncSettings
from server.storage.dialect import upsert_insert
from server.storage.tables import Company, CompanySettings, table_of, utcnow

_companies = table_of(Company)
_settings = table_of(CompanySettings)


class SettingsRows:
    _engine: AsyncEngine

    async def settings(self, company_id: int) -> SyncSettings:
        query = (
            select(_companies.c.timezone.label("company_timezone"), _settings)
            .select_from(_companies.outerjoin(_settings, _settings.c.company_id == _companies.c.id))
            .where(_companies.c.id == company_id)
        )
        async with self._engine.connect() as connection:
            row = (await connection.execute(query)).mappings().first()
        zone = row["company_timezone"] if row is not None else None
        if row is None or row["company_id"] is None:
            return SyncSettings(company_id=company_id, timezone=zone or "UTC")
        excluded = frozenset(line.strip() for line in row["excluded_numbers"].splitlines() if line.strip())
        return SyncSettings(
            company_id=company_id,
            timezone=zone or "UTC",
            import_frequency=ImportFrequency.parse(row["import_frequency"]),
            auto_add_persons=bool(row["auto_add_persons"]),
            new_chat_action=NewChatAction.parse(row["new_chat_action"]),
            pipeline_id=row["pipeline_id"],
            import_groups=bool(row["import_groups"]),
            excluded_numbers=excluded,
            activity_type_key=row["activity_type_key"],
            person_link_field_key=row["person_link_field_key"],
            deal_link_field_key=row["deal_link_field_key"],
        )

    async def save_setup_keys(self, company_id: int, changes: dict[str, str]) -> None:
        allowed = {"activity_type_key", "person_link_field_key", "deal_link_field_key"}
        values = {key: value for key, value in changes.items() if key in allowed}
        async with self._engine.begin() as connection:
            await connection.execute(
                upsert_insert(self._engine, _settings)
                .values(company_id=company_id, updated_at=utcnow(), **{**SETTINGS_DEFAULTS.row(), **values})
                .on_conflict_do_update(index_elements=["company_id"], set_={**values, "updated_at": utcnow()})
            )
