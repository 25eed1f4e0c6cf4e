"""The settings page's view of ``company_settings``: read with defaults, save what the admin chose."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.settings_form import CompanySettingsValues
from server.domain.sync import SETTINGS_DEFAULTS
from server.storage.dialect import upsert_insert
from server.storage.tables import CompanySettings, table_of, utcnow

_table = table_of(CompanySettings)


class SqlCompanySettingsStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, company_id: int) -> CompanySettingsValues:
        async with self._engine.connect() as connection:
            row = (
                (await connection.execute(select(_table).where(_table.c.company_id == company_id)))
                .mappings()
                .first()
            )
        if row is None:
            return CompanySettingsValues()
        return CompanySettingsValues(
            import_frequency=row["import_frequency"],
            auto_add_persons=bool(row["auto_add_persons"]),
            new_chat_action=row["new_chat_action"],
            pipeline_id=row["pipeline_id"],
            import_groups=bool(row["import_groups"]),
            excluded_numbers=tuple(line.strip() for line in row["excluded_numbers"].splitlines() if line),
            message_retention_days=row["message_retention_days"],
            media_retention_days=row["media_retention_days"],
            keep_deleted_text=bool(row["keep_deleted_text"]),
        )

    async def save(self, company_id: int, values: CompanySettingsValues) -> None:
        chosen = {
            "import_frequency": values.import_frequency,
            "auto_add_persons": values.auto_add_persons,
            "new_chat_action": values.new_chat_action,
            "pipeline_id": values.pipeline_id,
            "import_groups": values.import_groups,
            "excluded_numbers": "\n".join(values.excluded_numbers),
            "message_retention_days": values.message_retention_days,
            "media_retention_days": values.media_retention_days,
            "keep_deleted_text": values.keep_deleted_text,
            "updated_at": utcnow(),
        }
        statement = (
            upsert_insert(self._engine, _table)
            .values(
                company_id=company_id,
                **{**SETTINGS_DEFAULTS.row(), **chosen},
            )
            .on_conflict_do_update(index_elements=["company_id"], set_=chosen)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)
