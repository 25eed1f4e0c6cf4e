"""The lease of a company's full listing of Persons and the mark of its completion, on SQLite and
PostgreSQL, on times the test chooses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.sync_index import SqlPhoneIndexStore

LEASE = timedelta(seconds=15)
NOW = datetime(2026, 12, 16, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(migrated_database_url: str) -> AsyncIterator[tuple[SqlPhoneIndexStore, int]]:
    engine = make_async_engine(migrated_database_url)
    try:
        company = await SqlCompanyStore(engine).upsert(
            4242, name="Acme", api_domain="https://acme.test", timezone="Europe/Berlin"
        )
        yield SqlPhoneIndexStore(engine), company.id
    finally:
        await engine.dispose()


async def test_one_worker_at_a_time_lists_a_company_until_its_lease_runs_out(
    store: tuple[SqlPhoneIndexStore, int],
) -> None:
    index, company = store
    assert await index.claim_listing(company, owner="a", lease=LEASE, now=NOW)  # no state row yet
    assert not await index.claim_listing(company, owner="b", lease=LEASE, now=NOW + LEASE / 2)
    assert await index.claim_listing(company, owner="a", lease=LEASE, now=NOW + LEASE / 2)  # its own
    assert await index.renew_listing(company, owner="a", until=NOW + 2 * LEASE)
    assert not await index.claim_listing(company, owner="b", lease=LEASE, now=NOW + LEASE + LEASE / 2)
    assert await index.claim_listing(company, owner="b", lease=LEASE, now=NOW + 2 * LEASE)  # a died
    assert not await index.renew_listing(company, owner="a", until=NOW + 3 * LEASE)


async def test_a_finished_listing_marks_the_index_built_and_frees_the_company(
    store: tuple[SqlPhoneIndexStore, int],
) -> None:
    index, company = store
    assert not await index.is_built(company)
    assert await index.listed_at(company) is None
    await index.claim_listing(company, owner="a", lease=LEASE, now=NOW)
    watermark = NOW - timedelta(days=3)
    await index.finish_listing(company, owner="a", watermark=watermark, listed_at=NOW)
    assert await index.is_built(company)
    assert await index.watermark(company) == watermark
    assert await index.listed_at(company) == NOW
    assert await index.claim_listing(company, owner="b", lease=LEASE, now=NOW + timedelta(seconds=1))


async def test_a_released_listing_is_free_at_once_and_only_its_owner_releases_it(
    store: tuple[SqlPhoneIndexStore, int],
) -> None:
    index, company = store
    await index.claim_listing(company, owner="a", lease=LEASE, now=NOW)
    await index.release_listing(company, owner="b")  # not b's: still a's
    assert not await index.claim_listing(company, owner="b", lease=LEASE, now=NOW)
    await index.release_listing(company, owner="a")
    assert await index.claim_listing(company, owner="b", lease=LEASE, now=NOW)
    assert not await index.is_built(company)  # a failed listing builds nothing
