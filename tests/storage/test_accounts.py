from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from server.domain.errors import InvalidInput
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine


@pytest.fixture
async def stores(migrated_database_url: str) -> AsyncIterator[tuple[SqlAccountStore, int, int]]:
    engine = make_async_engine(migrated_database_url)
    companies = SqlCompanyStore(engine)
    a = await companies.upsert(1, name="A", api_domain="a", timezone="UTC")
    b = await companies.upsert(2, name="B", api_domain="b", timezone="UTC")
    yield SqlAccountStore(engine), a.id, b.id
    await engine.dispose()


async def test_accounts_are_created_and_found_by_session(stores: tuple[SqlAccountStore, int, int]) -> None:
    accounts, company_a, _ = stores
    created = await accounts.create(
        company_id=company_a, owner_user_id=11, transport="waha", session_name="wp-1"
    )
    assert created.status == "stopped"
    assert await accounts.by_session("waha", "wp-1") == created
    assert await accounts.by_session("cloud", "wp-1") is None


async def test_a_session_name_is_taken_once(stores: tuple[SqlAccountStore, int, int]) -> None:
    accounts, company_a, company_b = stores
    await accounts.create(company_id=company_a, owner_user_id=11, transport="waha", session_name="wp-1")
    with pytest.raises(InvalidInput) as error:
        await accounts.create(company_id=company_b, owner_user_id=21, transport="waha", session_name="wp-1")
    assert error.value.reason == "session_exists"


async def test_lookups_are_scoped_by_company(stores: tuple[SqlAccountStore, int, int]) -> None:
    accounts, company_a, company_b = stores
    mine = await accounts.create(company_id=company_a, owner_user_id=11, transport="waha", session_name="a1")
    await accounts.create(company_id=company_b, owner_user_id=21, transport="waha", session_name="b1")
    assert await accounts.get(company_b, mine.id) is None
    assert [a.session_name for a in await accounts.for_company(company_a)] == ["a1"]


async def test_a_number_belongs_to_one_account(stores: tuple[SqlAccountStore, int, int]) -> None:
    accounts, company_a, company_b = stores
    first = await accounts.create(company_id=company_a, owner_user_id=11, transport="waha", session_name="a1")
    second = await accounts.create(
        company_id=company_b, owner_user_id=21, transport="waha", session_name="b1"
    )
    await accounts.set_number(first.id, "+4915112345678", "Anna")
    with pytest.raises(InvalidInput) as error:
        await accounts.set_number(second.id, "+4915112345678", "Bob")
    assert error.value.reason == "number_already_linked"


async def test_status_and_activity_are_recorded(stores: tuple[SqlAccountStore, int, int]) -> None:
    accounts, company_a, _ = stores
    account = await accounts.create(
        company_id=company_a, owner_user_id=11, transport="waha", session_name="a1"
    )
    await accounts.set_status(account.id, "working")
    seen = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    await accounts.touch(account.id, seen)
    updated = await accounts.get(company_a, account.id)
    assert updated is not None
    assert updated.status == "working"
    assert updated.last_activity_at == seen
    assert updated.last_activity_at.tzinfo is not None
