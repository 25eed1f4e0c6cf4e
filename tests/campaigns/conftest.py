"""A company with two connected WhatsApp numbers over a migrated database (SQLite and PostgreSQL), the
campaign service over it with a recording queue, a fake Pipedrive list and a fixed random, on a
ControlledClock."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.clock import ControlledClock
from server.domain.errors import NotFound
from server.domain.ports.recipients import ListKind, RecipientRecord, SavedFilter
from server.services.campaigns import CampaignPorts, Campaigns
from server.storage.accounts import SqlAccountStore
from server.storage.audit import SqlAuditLog
from server.storage.campaigns import SqlCampaignStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.inbox import SqlInboxStore
from server.storage.opt_outs import SqlContactHistory, SqlOptOutStore
from server.storage.outbox import SqlOutboxStore
from server.storage.tables import table_of

ANNA_NUMBER = "+4915112345678"
BEN_NUMBER = "+4915187654321"


@dataclass
class Queued:
    function: str
    args: tuple[Any, ...]
    job_id: str | None
    defer_by: timedelta | None


@dataclass
class RecordingQueue:
    """Keeps what was queued; a job id queued once is taken for good (as arq while it waits)."""

    jobs: list[Queued] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: timedelta | None = None
    ) -> bool:
        if job_id is not None:
            if job_id in self.taken:
                return False
            self.taken.add(job_id)
        self.jobs.append(Queued(function, args, job_id, defer_by))
        return True

    async def ping(self) -> None:
        return None

    async def is_running(self, job_id: str) -> bool:
        return False

    def named(self, function: str) -> list[Queued]:
        return [job for job in self.jobs if job.function == function]


@dataclass
class FakePipedrive:
    """A company's lists: records by id, and filters naming some of them."""

    records: dict[int, RecipientRecord] = field(default_factory=dict)
    saved: dict[int, tuple[str, list[int]]] = field(default_factory=dict)
    marked: list[tuple[int, str]] = field(default_factory=list)
    reads: int = 0

    async def filters(self, kind: ListKind) -> list[SavedFilter]:
        return [SavedFilter(i, name, kind) for i, (name, _) in self.saved.items()]

    async def by_filter(
        self, kind: ListKind, filter_id: int, *, needs: frozenset[str]
    ) -> list[RecipientRecord]:
        self.reads += 1
        if filter_id not in self.saved:
            raise NotFound("no such filter", reason="unknown_filter")
        return [self.records[i] for i in self.saved[filter_id][1]]

    async def by_ids(self, kind: ListKind, ids: list[int], *, needs: frozenset[str]) -> list[RecipientRecord]:
        self.reads += 1
        return [self.records[i] for i in ids if i in self.records]

    async def mark_opted_out(self, person_id: int, when: str) -> None:
        self.marked.append((person_id, when))


def person(person_id: int, name: str, *phones: str, deal_id: int | None = None) -> RecipientRecord:
    first = name.split()[0]
    return RecipientRecord(
        person_id,
        name,
        tuple(phones),
        deal_id=deal_id,
        values={"person": {"first_name": first, "name": name}},
    )


@dataclass
class CampaignWorld:
    engine: AsyncEngine
    company_id: int
    other_company_id: int
    anna: int  # account ids
    ben: int
    clock: ControlledClock
    queue: RecordingQueue
    pipedrive: FakePipedrive
    ports: CampaignPorts
    campaigns: Campaigns
    store: SqlCampaignStore
    outbox: SqlOutboxStore
    inbox: SqlInboxStore
    excluded: set[str]


@pytest.fixture
async def world(migrated_database_url: str) -> AsyncIterator[CampaignWorld]:
    engine = make_async_engine(migrated_database_url)
    companies = SqlCompanyStore(engine)
    company = await companies.upsert(4001, name="Acme", api_domain="", timezone="Europe/Berlin")
    other = await companies.upsert(4002, name="Globex", api_domain="", timezone="UTC")
    accounts = SqlAccountStore(engine)
    ids = []
    for session, number in (("wp-anna", ANNA_NUMBER), ("wp-ben", BEN_NUMBER)):
        account = await accounts.create(
            company_id=company.id, owner_user_id=7, transport="waha", session_name=session
        )
        await accounts.set_number(account.id, number, session)
        await accounts.set_status(account.id, "connected")
        ids.append(account.id)
    clock = ControlledClock()
    queue = RecordingQueue()
    pipedrive = FakePipedrive()
    excluded: set[str] = set()

    async def recipients_for(company_id: int) -> FakePipedrive:
        return pipedrive

    async def excluded_numbers(company_id: int) -> frozenset[str]:
        return frozenset(excluded)

    store = SqlCampaignStore(engine)
    outbox = SqlOutboxStore(engine)
    ports = CampaignPorts(
        store=store,
        opt_outs=SqlOptOutStore(engine),
        history=SqlContactHistory(engine),
        accounts=accounts,
        outbox=outbox,
        queue=queue,
        clock=clock,
        recipients_for=recipients_for,
        excluded_numbers=excluded_numbers,
        audit=SqlAuditLog(engine),
        random=random.Random(20),
    )
    yield CampaignWorld(
        engine,
        company.id,
        other.id,
        ids[0],
        ids[1],
        clock,
        queue,
        pipedrive,
        ports,
        Campaigns(ports),
        store,
        outbox,
        SqlInboxStore(engine),
        excluded,
    )
    await engine.dispose()


async def count(world: CampaignWorld, model: type) -> int:
    """How many rows the table of ``model`` holds."""
    table = table_of(model)
    async with world.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())
