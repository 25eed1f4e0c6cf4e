"""Workers share the stored phone index: a company's Persons are listed in full once, not once per worker.

Each worker is a job context with caches of its own (``SyncCaches``), over one database and the Pipedrive
sandbox, whose own usage counters say how many list requests reached it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.worker import Retry

from sandbox.pipedrive.seed import seed_person
from server.domain.errors import GatewayUnavailable
from server.jobs.deps import job_ctx
from server.jobs.sync import company_context, sync_chat
from server.pipedrive.sync_adapter import PipedriveCrm
from server.services.sync.context import SyncCaches
from server.services.sync.setup import ensure_setup
from server.storage.sync import SqlSyncStore
from server.storage.sync_index import SqlPhoneIndexStore
from tests.conftest import migrated_url
from tests.sync.world import SyncWorld, sync_world

PERSONS = 1_200  # three list pages of 500
FULL_LISTING = 3
LIST = "GET /v2/persons"  # as the sandbox names the operation


@pytest.fixture(params=["sqlite", "postgresql"])
async def world(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SyncWorld]:
    with migrated_url(request, tmp_path) as url:
        async with sync_world(url, tmp_path) as world:
            yield world


async def seed_company(world: SyncWorld) -> list[str]:
    """The company as install leaves it (its activity type and link fields exist, so runs go straight to
    matching) with Persons gathered over time (their changes spread over days), each a number of its own."""
    context = await company_context(world.ctx, world.company_id)
    await ensure_setup(context, await context.store.settings(world.company_id))
    now = world.pd.clock.now()
    numbers = [f"+4930{10**7 + i}" for i in range(PERSONS)]
    for i, number in enumerate(numbers):
        person = seed_person(world.pd, world.pd_company, f"Person {i}", phones=[number])
        changed = now - timedelta(minutes=PERSONS - i)
        person.update(add_time=changed, update_time=changed)
    return numbers


def list_requests(world: SyncWorld) -> int:
    """``GET /api/v2/persons`` requests the sandbox has served to the company."""
    return world.pd.limiter.usage_for(world.pd_company).per_operation.get(LIST, 0)


def worker(world: SyncWorld, name: str) -> dict[str, Any]:
    """A worker process's job context: the world's dependencies with caches of its own."""
    return job_ctx(replace(world.deps, sync_caches=SyncCaches(), runner_name=name))


async def sync(world: SyncWorld, ctx: dict[str, Any], chat_id: int, busy: list[str]) -> None:
    """Run ``sync_chat`` as the worker would, again after each retry it asks for; a retry while another
    worker lists waits (as the deferred job would) until the company's index is stored."""
    index = SqlPhoneIndexStore(world.engine)
    for attempt in range(1, 20):
        try:
            await sync_chat({**ctx, "job_try": attempt, "job_id": f"sync:{chat_id}"}, chat_id)
            return
        except Retry:
            busy.append(f"sync:{chat_id}")
            for _ in range(500):  # at most about 5 s
                if await index.is_built(world.company_id):
                    break
                await asyncio.sleep(0.01)
    raise AssertionError(f"chat {chat_id} did not sync")


async def person_of(world: SyncWorld, chat_id: int) -> int | None:
    store: SqlSyncStore = world.deps.sync_store
    link = await store.link_by_chat(chat_id)
    assert link is not None
    return link.person_id


async def test_a_second_worker_reads_the_index_the_first_stored_instead_of_listing_every_person(
    world: SyncWorld,
) -> None:
    numbers = await seed_company(world)
    first, second = worker(world, "worker-1"), worker(world, "worker-2")
    busy: list[str] = []
    await sync(world, first, await world.message(numbers[10], "Hallo"), busy)
    assert list_requests(world) == FULL_LISTING

    chat = await world.message(numbers[500], "Guten Tag")
    await sync(world, second, chat, busy)

    assert list_requests(world) == FULL_LISTING + 1  # what changed since the first listing: one page
    assert await person_of(world, chat) == world.persons()[500]["id"]
    assert "GET /api/v2/persons/search" not in world.operations()
    assert busy == []


async def test_a_person_changed_after_the_listing_is_matched_rightly_by_a_second_worker(
    world: SyncWorld,
) -> None:
    numbers = await seed_company(world)
    await sync(world, worker(world, "worker-1"), await world.message(numbers[0], "Hallo"), [])
    moved = world.persons()[7]  # the number leaves Person 7 for a new Person after the listing
    world.clock.advance(5)
    moved.update(phones=[], update_time=world.pd.clock.now())
    newcomer = seed_person(world.pd, world.pd_company, "Newcomer", phones=[numbers[7]])

    chat = await world.message(numbers[7], "Ich bin neu")
    await sync(world, worker(world, "worker-2"), chat, [])

    assert await person_of(world, chat) == newcomer["id"]
    assert list_requests(world) == FULL_LISTING + 1


async def test_workers_starting_cold_at_once_list_the_persons_once(world: SyncWorld) -> None:
    numbers = await seed_company(world)
    workers = [worker(world, f"worker-{n}") for n in range(1, 5)]
    chats = [await world.message(numbers[n * 100], f"Hallo {n}") for n in range(4)]
    busy: list[str] = []

    await asyncio.gather(*(sync(world, ctx, chat, busy) for ctx, chat in zip(workers, chats, strict=True)))

    # one full listing; each of the three others reads the stored index and asks what changed since
    assert list_requests(world) == FULL_LISTING + 3
    assert len(busy) == 3  # the three waited for the listing once each
    persons = world.persons()
    assert [await person_of(world, chat) for chat in chats] == [persons[n * 100]["id"] for n in range(4)]
    assert len(persons) == PERSONS  # nobody was created for a number the listing held


async def test_a_listing_that_fails_frees_the_company_for_the_next_worker(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    numbers = await seed_company(world)
    listed = PipedriveCrm.persons_updated_since

    async def failing_after_a_page(self: PipedriveCrm, since: Any, key: str) -> AsyncIterator[Any]:
        async for count, person in aenumerate(listed(self, since, key)):
            if count == 600:
                raise GatewayUnavailable("Pipedrive answered 503; try again")
            yield person

    monkeypatch.setattr(PipedriveCrm, "persons_updated_since", failing_after_a_page)
    chat = await world.message(numbers[3], "Hallo")
    with pytest.raises(Retry):
        await sync_chat({**worker(world, "worker-1"), "job_try": 1, "job_id": f"sync:{chat}"}, chat)
    monkeypatch.setattr(PipedriveCrm, "persons_updated_since", listed)
    before, busy = list_requests(world), []

    await sync(world, worker(world, "worker-2"), chat, busy)

    assert busy == []  # not held by the failed listing's lease
    assert list_requests(world) - before == FULL_LISTING  # listed anew, in full
    assert await person_of(world, chat) == world.persons()[3]["id"]


async def aenumerate(items: AsyncIterator[Any]) -> AsyncIterator[tuple[int, Any]]:
    count = 0
    async for item in items:
        yield count, item
        count += 1
