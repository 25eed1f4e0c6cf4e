"""A company's settings before an admin saves any: the row install creates, the row setup's keys create,
the settings page and the sync engine all hold the same defaults (one table, server.domain.sync)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.settings_form import CompanySettingsValues
from server.domain.sync import ImportFrequency, NewChatAction, SyncSettings
from server.storage.companies import SqlCompanyStore
from server.storage.company_settings import SqlCompanySettingsStore
from server.storage.company_setup import SqlCompanySetupStore
from server.storage.engine import make_async_engine
from server.storage.sync import SqlSyncStore
from server.storage.tables import CompanySettings, table_of

# Worked out by hand from the product's promise: log every chat at once, add unknown numbers as Persons,
# no deal or lead for a new chat, no groups, nothing excluded, keep everything, setup not run yet.
STORED_DEFAULTS = {
    "import_frequency": "realtime",
    "auto_add_persons": True,
    "new_chat_action": "nothing",
    "pipeline_id": None,
    "import_groups": False,
    "excluded_numbers": "",
    "message_retention_days": 0,
    "media_retention_days": 0,
    "keep_deleted_text": False,
    "activity_type_key": "",
    "person_link_field_key": "",
    "deal_link_field_key": "",
}


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def _company(engine: AsyncEngine) -> int:
    company = await SqlCompanyStore(engine).upsert(42, name="Acme", api_domain="d", timezone="Europe/Rome")
    return company.id


async def _stored(engine: AsyncEngine, company_id: int) -> dict[str, object]:
    table = table_of(CompanySettings)
    async with engine.connect() as connection:
        row = (
            (await connection.execute(select(table).where(table.c.company_id == company_id))).mappings().one()
        )
    return {
        key: (bool(row[key]) if isinstance(STORED_DEFAULTS[key], bool) else row[key])
        for key in STORED_DEFAULTS
    }


def _engine_defaults(company_id: int) -> SyncSettings:
    return SyncSettings(
        company_id=company_id,
        timezone="Europe/Rome",
        import_frequency=ImportFrequency.REALTIME,
        auto_add_persons=True,
        new_chat_action=NewChatAction.NOTHING,
        pipeline_id=None,
        import_groups=False,
        excluded_numbers=frozenset(),
        activity_type_key="",
        person_link_field_key="",
        deal_link_field_key="",
    )


def _page_defaults() -> CompanySettingsValues:
    return CompanySettingsValues(
        import_frequency="realtime",
        auto_add_persons=True,
        new_chat_action="nothing",
        pipeline_id=None,
        import_groups=False,
        excluded_numbers=(),
        message_retention_days=0,
        media_retention_days=0,
        keep_deleted_text=False,
    )


async def test_without_a_row_the_page_and_the_engine_read_the_defaults(engine: AsyncEngine) -> None:
    company_id = await _company(engine)
    assert await SqlCompanySettingsStore(engine).get(company_id) == _page_defaults()
    assert await SqlSyncStore(engine).settings(company_id) == _engine_defaults(company_id)


async def test_the_row_install_creates_holds_the_defaults(engine: AsyncEngine) -> None:
    company_id = await _company(engine)
    await SqlCompanySetupStore(engine).ensure_defaults(company_id)
    assert await _stored(engine, company_id) == STORED_DEFAULTS
    assert await SqlCompanySettingsStore(engine).get(company_id) == _page_defaults()
    assert await SqlSyncStore(engine).settings(company_id) == _engine_defaults(company_id)


async def test_the_row_setup_keys_create_holds_the_defaults_and_the_keys(engine: AsyncEngine) -> None:
    company_id = await _company(engine)
    await SqlSyncStore(engine).save_setup_keys(company_id, {"activity_type_key": "whatsapp_chat"})
    assert await _stored(engine, company_id) == {**STORED_DEFAULTS, "activity_type_key": "whatsapp_chat"}
