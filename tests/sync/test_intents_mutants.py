"""Write-ahead intents, both halves: ``create_once`` against a recording store, and the intent rows on SQLite
and PostgreSQL (claim, lease, completion, release), read back column by column."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from server.domain.sync import IntentClaim
from server.services.sync.context import SyncBusy
from server.services.sync.intents import create_once
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.migrate import upgrade
from server.storage.sync import SqlSyncStore
from server.storage.tables import table_of
from server.storage.tables_sync import SyncIntent

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)


@dataclass
class FakeIntents:
    claim: IntentClaim | None
    calls: list[tuple[Any, ...]] = field(default_factory=list)

    async def claim_intent(
        self, company_id: int, key: str, *, owner: str, lease: timedelta, now: datetime
    ) -> IntentClaim | None:
        self.calls.append(("claim", company_id, key, owner, lease, now))
        return self.claim

    async def complete_intent(self, key: str, result: str, *, now: datetime) -> None:
        self.calls.append(("complete", key, result, now))

    async def release_intent(self, key: str) -> None:
        self.calls.append(("release", key))


@dataclass
class Run:
    store: FakeIntents
    ctx: Any
    steps: list[str] = field(default_factory=list)
    found: str | None = None
    fail: str | None = None

    async def find(self) -> str | None:
        self.steps.append("find")
        if self.fail == "find":
            raise RuntimeError("find failed")
        return self.found

    async def create(self) -> str:
        self.steps.append("create")
        if self.fail == "create":
            raise RuntimeError("create failed")
        return "created-7"

    async def __call__(self) -> str:
        find: Callable[[], Awaitable[str | None]] = self.find
        return await create_once(self.ctx, 3, "person:+4917655501234", find=find, create=self.create)


def run(claim: IntentClaim | None, **changes: Any) -> Run:
    ticks = iter([NOW, NOW + timedelta(seconds=1), NOW + timedelta(seconds=2)])
    store = FakeIntents(claim)
    ctx = SimpleNamespace(
        store=store, worker="worker-a", config=SimpleNamespace(intent_lease=LEASE), clock=lambda: next(ticks)
    )
    return Run(store, ctx, **changes)


CLAIM = ("claim", 3, "person:+4917655501234", "worker-a", LEASE, NOW)


async def test_a_first_claim_creates_without_looking_and_records_the_id() -> None:
    r = run(IntentClaim("person:+4917655501234", 0))
    assert await r() == "created-7"
    assert r.steps == ["create"]
    assert r.store.calls == [
        CLAIM,
        ("complete", "person:+4917655501234", "created-7", NOW + timedelta(seconds=1)),
    ]


async def test_a_completed_intent_returns_its_id_and_touches_nothing() -> None:
    r = run(IntentClaim("person:+4917655501234", 1, "known-5"))
    assert await r() == "known-5"
    assert r.steps == [] and r.store.calls == [CLAIM]


async def test_another_workers_claim_is_busy_by_name() -> None:
    r = run(None)
    with pytest.raises(SyncBusy) as busy:
        await r()
    assert str(busy.value) == "another worker is creating person:+4917655501234"
    assert r.steps == [] and r.store.calls == [CLAIM]


async def test_after_a_lost_run_it_looks_first_and_keeps_what_it_finds() -> None:
    r = run(IntentClaim("person:+4917655501234", 1), found="found-9")
    assert await r() == "found-9"
    assert r.steps == ["find"]
    assert r.store.calls[-1] == ("complete", "person:+4917655501234", "found-9", NOW + timedelta(seconds=1))


async def test_after_a_lost_run_it_creates_when_nothing_is_found() -> None:
    r = run(IntentClaim("person:+4917655501234", 2))
    assert await r() == "created-7"
    assert r.steps == ["find", "create"]
    assert r.store.calls[-1] == ("complete", "person:+4917655501234", "created-7", NOW + timedelta(seconds=1))


@pytest.mark.parametrize(("attempts", "fail"), [(0, "create"), (1, "find"), (1, "create")])
async def test_a_failure_releases_the_intent_and_is_raised(attempts: int, fail: str) -> None:
    r = run(IntentClaim("person:+4917655501234", attempts), fail=fail)
    with pytest.raises(RuntimeError, match=f"{fail} failed"):
        await r()
    assert r.store.calls == [CLAIM, ("release", "person:+4917655501234")]


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    upgrade(database_url)
    engine = make_async_engine(database_url)
    yield engine
    await engine.dispose()


async def company(engine: AsyncEngine) -> int:
    await SqlCompanyStore(engine).upsert(100, name="first", api_domain="", timezone="UTC")
    return (await SqlCompanyStore(engine).upsert(200, name="second", api_domain="", timezone="UTC")).id


async def row(engine: AsyncEngine, key: str) -> dict[str, Any]:
    table = table_of(SyncIntent)
    async with engine.connect() as connection:
        found = (await connection.execute(select(table).where(table.c.intent_key == key))).mappings().one()
    values = dict(found)
    for name in ("lease_until", "created_at", "updated_at"):
        if values[name] is not None and values[name].tzinfo is None:
            values[name] = values[name].replace(tzinfo=UTC)
    return values


async def test_a_new_intent_is_stored_and_claimed(engine: AsyncEngine) -> None:
    store, company_id = SqlSyncStore(engine), await company(engine)
    assert await store.claim_intent(company_id, "k1", owner="a", lease=LEASE, now=NOW) == IntentClaim("k1", 0)
    stored = await row(engine, "k1")
    assert {k: stored[k] for k in stored if k != "id"} == {
        "company_id": company_id,
        "intent_key": "k1",
        "state": "pending",
        "attempts": 1,
        "lease_owner": "a",
        "lease_until": NOW + LEASE,
        "result": None,
        "created_at": NOW,
        "updated_at": NOW,
    }


async def test_a_lease_holds_until_its_end_and_then_counts_the_attempt(engine: AsyncEngine) -> None:
    store, company_id = SqlSyncStore(engine), await company(engine)
    await store.claim_intent(company_id, "k1", owner="a", lease=LEASE, now=NOW)
    almost = NOW + LEASE - timedelta(seconds=1)
    assert await store.claim_intent(company_id, "k1", owner="b", lease=LEASE, now=almost) is None
    assert (await row(engine, "k1"))["lease_owner"] == "a"
    later = NOW + LEASE
    assert await store.claim_intent(company_id, "k1", owner="b", lease=LEASE, now=later) == IntentClaim(
        "k1", 1
    )
    stored = await row(engine, "k1")
    assert (stored["attempts"], stored["lease_owner"]) == (2, "b")
    assert (stored["lease_until"], stored["updated_at"], stored["created_at"]) == (later + LEASE, later, NOW)


async def test_a_completed_intent_answers_with_its_result_whoever_asks(engine: AsyncEngine) -> None:
    store, company_id = SqlSyncStore(engine), await company(engine)
    await store.claim_intent(company_id, "k1", owner="a", lease=LEASE, now=NOW)
    await store.claim_intent(company_id, "k2", owner="a", lease=LEASE, now=NOW)
    done_at = NOW + timedelta(seconds=5)
    await store.complete_intent("k1", "42", now=done_at)
    stored = await row(engine, "k1")
    assert (stored["state"], stored["result"], stored["lease_until"], stored["updated_at"]) == (
        "done",
        "42",
        None,
        done_at,
    )
    assert await store.claim_intent(company_id, "k1", owner="b", lease=LEASE, now=NOW) == IntentClaim(
        "k1", 1, "42"
    )
    assert (await row(engine, "k1"))["attempts"] == 1
    other = await row(engine, "k2")
    assert (other["state"], other["result"], other["lease_until"]) == ("pending", None, NOW + LEASE)


async def test_a_released_intent_can_be_claimed_at_once_and_only_that_one(engine: AsyncEngine) -> None:
    store, company_id = SqlSyncStore(engine), await company(engine)
    await store.claim_intent(company_id, "k1", owner="a", lease=LEASE, now=NOW)
    await store.claim_intent(company_id, "k2", owner="a", lease=LEASE, now=NOW)
    before = datetime.now(UTC)
    await store.release_intent("k1")
    released = await row(engine, "k1")
    assert released["lease_until"] is None
    assert before - timedelta(seconds=1) <= released["updated_at"] <= datetime.now(UTC) + timedelta(seconds=1)
    assert (await row(engine, "k2"))["lease_until"] == NOW + LEASE
    assert await store.claim_intent(company_id, "k1", owner="b", lease=LEASE, now=NOW) == IntentClaim("k1", 1)
    assert await store.claim_intent(company_id, "k2", owner="b", lease=LEASE, now=NOW) is None


async def test_releasing_a_completed_intent_changes_nothing(engine: AsyncEngine) -> None:
    store, company_id = SqlSyncStore(engine), await company(engine)
    await store.claim_intent(company_id, "k1", owner="a", lease=LEASE, now=NOW)
    await store.complete_intent("k1", "42", now=NOW)
    before = await row(engine, "k1")
    await store.release_intent("k1")
    assert await row(engine, "k1") == before


async def test_forgetting_a_deleted_persons_intents_keeps_every_other_intent(engine: AsyncEngine) -> None:
    """Only the company's Person and group creates that produced the Person go; a Deal create naming the same
    id, another Person's create, and another company's create of the same id stay."""
    store = SqlSyncStore(engine)
    company_id = await company(engine)
    other = (await SqlCompanyStore(engine).get(100)).id  # type: ignore[union-attr]
    intents = [
        (company_id, "person:1:+4915112345678", "41"),
        (company_id, "group:1:120363@g.us", "41"),
        (company_id, "deal:1:chat-7", "41"),
        (company_id, "person:1:+4930123456", "42"),
        (other, "person:2:+4915112345678", "41"),
    ]
    for owner, key, result in intents:
        await store.claim_intent(owner, key, owner="a", lease=LEASE, now=NOW)
        await store.complete_intent(key, result, now=NOW)
    await store.forget_person_intents(company_id, 41)
    table = table_of(SyncIntent)
    async with engine.connect() as connection:
        left = sorted((await connection.execute(select(table.c.intent_key))).scalars())
    assert left == ["deal:1:chat-7", "person:1:+4930123456", "person:2:+4915112345678"]
