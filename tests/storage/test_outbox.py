"""The outbox store on SQLite and PostgreSQL: what a company sent to a Person stays that company's, though
Pipedrive numbers Persons per company, so two companies' Persons share ids."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.outbox import SqlOutboxStore

PERSON = 1  # each company's first Person in Pipedrive


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def company_with_number(
    engine: AsyncEngine, pipedrive_company_id: int, session: str
) -> tuple[int, int]:
    company = await SqlCompanyStore(engine).upsert(
        pipedrive_company_id, name=session, api_domain="", timezone="UTC"
    )
    account = await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=1, transport="waha", session_name=session
    )
    return company.id, account.id


async def test_a_persons_entries_are_only_its_companys_when_person_ids_collide(engine: AsyncEngine) -> None:
    outbox = SqlOutboxStore(engine)
    acme, acme_number = await company_with_number(engine, 101, "wp-acme")
    globex, globex_number = await company_with_number(engine, 202, "wp-globex")
    for company, number, text in (
        (acme, acme_number, "Acme's offer"),
        (globex, globex_number, "Globex's offer"),
        (acme, acme_number, "Acme's reminder"),
    ):
        await outbox.create(
            client_ref=f"ref-{text}",
            company_id=company,
            account_id=number,
            requested_by=1,
            to_chat="+4917655501234",
            text=text,
            fingerprint=text,
            person_id=PERSON,
        )
    await outbox.create(
        client_ref="ref-other-person",
        company_id=acme,
        account_id=acme_number,
        requested_by=1,
        to_chat="+4915112345678",
        text="Acme to its second Person",
        fingerprint="other",
        person_id=PERSON + 1,
    )

    assert [e.text for e in await outbox.for_person(acme, PERSON)] == ["Acme's reminder", "Acme's offer"]
    assert [e.text for e in await outbox.for_person(globex, PERSON)] == ["Globex's offer"]
    assert [e.company_id for e in await outbox.for_person(globex, PERSON)] == [globex]
    assert await outbox.for_person(globex, PERSON + 1) == []
