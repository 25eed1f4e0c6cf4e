"""The outbox store on SQLite and PostgreSQL: what a company sent to a Person stays that company's, though
Pipedrive numbers Persons per company, so two companies' Persons share ids; the sends whose job was lost
are found and queued again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.clock import ControlledClock
from server.jobs.deps import job_ctx
from server.jobs.functions import FUNCTIONS
from server.jobs.inprocess import InProcessQueue
from server.jobs.send import sweep_outbox
from server.jobs.timing import JobTimings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.outbox import SqlOutboxStore
from server.storage.tables import Outbox, table_of
from tests.job_deps import fake_deps

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


async def test_the_sweep_queues_again_the_sends_whose_job_was_lost_and_only_those(
    engine: AsyncEngine,
) -> None:
    outbox = SqlOutboxStore(engine)
    acme, number = await company_with_number(engine, 303, "wp-sweep")
    ids: dict[str, int] = {}
    for name in ("lost", "fresh", "stuck", "trying", "sent"):
        entry, _ = await outbox.create(
            client_ref=f"ref-{name}",
            company_id=acme,
            account_id=number,
            requested_by=1,
            to_chat="+4917655501234",
            text=name,
            fingerprint=name,
        )
        ids[name] = entry.id
    clock = ControlledClock()
    timings = JobTimings(sweep_after=timedelta(minutes=1), send_deadline=timedelta(minutes=2))
    now = clock.now()
    await outbox.start_attempt(ids["stuck"], now - timedelta(minutes=4))  # past its deadline and a sweep
    await outbox.start_attempt(ids["trying"], now - timedelta(minutes=2))  # may still be running
    await outbox.start_attempt(ids["sent"], now - timedelta(minutes=9))
    await outbox.mark_sent(ids["sent"], "3EB0SENT", "4917655501234@s.whatsapp.net")
    async with engine.begin() as connection:  # "fresh" was asked for a moment ago, the others long ago
        table = table_of(Outbox)
        await connection.execute(update(table).values(created_at=now - timedelta(minutes=10)))
        await connection.execute(
            update(table).where(table.c.id == ids["fresh"]).values(created_at=now - timedelta(seconds=20))
        )

    queue = InProcessQueue(FUNCTIONS, clock=clock)  # not run: what it holds is looked at
    deps = fake_deps(outbox=outbox, queue=queue, clock=clock, timings=timings)
    assert await sweep_outbox(job_ctx(deps)) == 2
    assert sorted(queue.pending()) == sorted([f"send:{ids['lost']}", f"send:{ids['stuck']}"])
    assert await sweep_outbox(job_ctx(deps)) == 0  # their jobs are queued: the ids are taken
