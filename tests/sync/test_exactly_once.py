"""The guarantees: no duplicate Person, Deal, Lead, activity, file or line through kills, retries, faults
and a spent budget; permanent failures are recorded for admins."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from arq.worker import Retry

from server.jobs.sync import sync_chat
from server.pipedrive.sync_adapter import PipedriveCrm
from tests.sync.world import SyncWorld
from tests.world import to_next_noon_utc

NUMBER = "+4917612345678"


def die_after_first(monkeypatch: pytest.MonkeyPatch, method: str) -> list[str]:
    """The worker dies right after Pipedrive answered the first call of ``method`` (before our commit);
    the list names the call once it happened."""
    original = getattr(PipedriveCrm, method)
    killed: list[str] = []

    async def create_then_die(self: PipedriveCrm, *args: Any, **kwargs: Any) -> Any:
        result = await original(self, *args, **kwargs)
        if not killed:
            killed.append(method)
            raise asyncio.CancelledError
        return result

    monkeypatch.setattr(PipedriveCrm, method, create_then_die)
    return killed


@pytest.mark.parametrize("method", ["create_person", "create_deal", "create_activity", "upload_file"])
async def test_a_worker_killed_after_a_create_never_duplicates_it(
    world: SyncWorld, method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world.set_settings(new_chat_action="deal")
    killed = die_after_first(monkeypatch, method)
    chat = await world.message(NUMBER, "Hallo", name="Klaus", media=b"picture-bytes")
    with pytest.raises(asyncio.CancelledError):
        await world.sync(chat)
    assert killed == [method]
    world.clock.advance(timedelta(minutes=3).total_seconds())  # the dead worker's leases ran out
    await world.sync(chat)
    await world.message(NUMBER, "Und noch was")
    await world.sync(chat)
    assert len(world.persons()) == 1
    assert len([d for d in world.data.deals.values() if not d["is_deleted"]]) == 1
    assert len(world.activities()) == 1
    assert len(world.data.files) == 2  # the picture on the Person and on the Deal, once each
    assert world.notes().count("Hallo") == 1 and world.notes().count("Und noch was") == 1


async def test_a_message_that_came_while_the_killed_worker_s_activity_was_unrecorded_is_in_its_note(
    world: SyncWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker dies after Pipedrive created the day's activity and before WaPipe recorded it; a message
    arrives before the next run. That run finds the activity (its note what the dead run rendered) and
    writes the day as it is now into it, once."""
    killed = die_after_first(monkeypatch, "create_activity")
    chat = await world.message(NUMBER, "Hallo", name="Klaus")
    with pytest.raises(asyncio.CancelledError):
        await world.sync(chat)
    assert killed == ["create_activity"]
    assert world.notes().count("Hallo") == 1 and "Und noch was" not in world.notes()
    await world.message(NUMBER, "Und noch was")  # before any run picks the chat up again
    world.clock.advance(timedelta(minutes=3).total_seconds())  # the dead worker's leases ran out
    await world.sync(chat)
    assert len(world.activities()) == 1
    assert world.notes().count("Hallo") == 1 and world.notes().count("Und noch was") == 1


async def test_running_twice_and_duplicate_deliveries_change_nothing(world: SyncWorld) -> None:
    chat = await world.message(NUMBER, "eins", message_id="SAME")
    await world.message(NUMBER, "eins", message_id="SAME")  # the webhook again
    await world.sync(chat)
    await world.sync(chat)
    assert len(world.persons()) == 1 and len(world.activities()) == 1
    assert world.notes().count("eins") == 1


async def test_pipedrive_429s_and_5xx_are_retried_without_duplicates(world: SyncWorld) -> None:
    faults = world.pd.limiter.faults
    chats = []
    for i in range(4):
        faults.force_429 += 2
        faults.force_5xx += 2
        chats.append(await world.message(f"+49176123400{i:02d}", f"hello {i}"))
        await world.sync(chats[-1], max_retries=40)
    assert len(world.persons()) == 4 and len(world.activities()) == 4
    for i in range(4):
        assert world.notes().count(f"hello {i}") == 1


async def test_a_spent_budget_defers_and_finishes_later_without_loss(world: SyncWorld) -> None:
    to_next_noon_utc(
        world.clock
    )  # half a day from the budget's reset at midnight UTC, at any hour of the run
    world.pd.limiter.set_daily_budget(world.pd_company, 0)
    chat = await world.message(NUMBER, "waiting for tomorrow")
    job_ctx = {**world.ctx, "job_try": 1}
    with pytest.raises(Retry) as deferred:
        await sync_chat(job_ctx, chat)
    assert deferred.value.defer_score is not None and deferred.value.defer_score > 60_000
    requests = world.pd.limiter.usage_for(world.pd_company).rejected
    with pytest.raises(Retry):  # deferred: no request leaves at all
        await sync_chat(job_ctx, chat)
    assert world.pd.limiter.usage_for(world.pd_company).rejected == requests
    world.pd.limiter.daily_budget_override.clear()
    world.clock.advance(timedelta(days=1).total_seconds())
    world.client.api._limiter = type(world.client.api._limiter)()  # the limiter's day is over too
    await world.sync(chat)
    assert world.notes().count("waiting for tomorrow") == 1


async def test_a_permanent_failure_is_recorded_for_admins(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="deal", pipeline_id=999_999)
    chat = await world.message(NUMBER, "Hallo")
    result = await world.sync(chat)
    assert result.startswith("failed")
    [problem] = await world.deps.sync_store.open_problems(world.company_id)
    assert problem.chat_id == chat and problem.reason
