from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from server.domain.errors import InvalidInput
from server.domain.whatsapp import SessionStatus
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbox import SqlInboxStore

T0 = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


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


async def test_the_catch_up_mark_moves_forward_from_the_mark_it_was_read_at(
    stores: tuple[SqlAccountStore, int, int],
) -> None:
    accounts, company_a, company_b = stores
    engine = accounts._engine
    inbox = SqlInboxStore(engine)
    mine = await accounts.create(company_id=company_a, owner_user_id=11, transport="waha", session_name="a1")
    other = await accounts.create(company_id=company_b, owner_user_id=21, transport="waha", session_name="b1")
    assert mine.caught_up_until is None  # no catch-up has completed
    first, later, earlier = T0, T0 + timedelta(hours=1), T0 - timedelta(hours=1)

    async def mark(account_id: int) -> datetime | None:
        found = await accounts.by_id(account_id)
        assert found is not None
        return found.caught_up_until

    assert await accounts.mark_caught_up(mine.id, first, was=None) is False  # the session is not connected
    for account in (mine, other):
        await inbox.record_session(account.id, SessionStatus.CONNECTED, "", None, None)
    assert await accounts.mark_caught_up(mine.id, first, was=None) is True
    assert await mark(mine.id) == first and await mark(other.id) is None
    assert await accounts.mark_caught_up(mine.id, later, was=None) is False  # it is no longer what was read
    assert await accounts.mark_caught_up(mine.id, earlier, was=first) is False  # never backwards
    assert await accounts.mark_caught_up(mine.id, later, was=first) is True
    assert await mark(mine.id) == later
    await inbox.record_session(mine.id, SessionStatus.DISCONNECTED, "", None, None)
    assert await accounts.mark_caught_up(mine.id, later + timedelta(hours=1), was=later) is False
    assert await mark(mine.id) == later and await mark(other.id) is None
