from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def test_upsert_creates_then_updates(engine: AsyncEngine) -> None:
    store = SqlCompanyStore(engine)
    created = await store.upsert(1001, name="Acme", api_domain="https://acme.pipedrive.com", timezone="UTC")
    updated = await store.upsert(
        1001, name="Acme GmbH", api_domain="https://acme.pipedrive.com", timezone="Europe/Berlin"
    )
    assert updated.id == created.id
    assert (updated.name, updated.timezone) == ("Acme GmbH", "Europe/Berlin")
    assert await store.get(1001) == updated


async def test_unknown_company_is_none(engine: AsyncEngine) -> None:
    assert await SqlCompanyStore(engine).get(404) is None


async def test_concurrent_upserts_of_one_company_make_one_row(engine: AsyncEngine) -> None:
    store = SqlCompanyStore(engine)
    results = await asyncio.gather(
        *(store.upsert(7, name=f"n{i}", api_domain="d", timezone="UTC") for i in range(8))
    )
    assert len({company.id for company in results}) == 1


async def test_text_round_trips_unicode_and_markup(engine: AsyncEngine) -> None:
    store = SqlCompanyStore(engine)
    name = "Ünïcödé <b>&amp;</b> 株式会社 \u202e"
    await store.upsert(9, name=name, api_domain="d", timezone="Asia/Tokyo")
    company = await store.get(9)
    assert company is not None and company.name == name
