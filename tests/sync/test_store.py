"""The sync store on SQLite and PostgreSQL: intents, leases, dirty versions, merges, and one full sync."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.pipedrive.seed import seed_person
from server.storage.sync import SqlSyncStore
from tests.sync.world import SyncWorld, sync_world

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
async def both(database_url: str, tmp_path: Path) -> AsyncIterator[SyncWorld]:
    async with sync_world(database_url, tmp_path) as world:
        yield world


def store_of(world: SyncWorld) -> SqlSyncStore:
    store: SqlSyncStore = world.deps.sync_store
    return store


async def test_intents_are_claimed_once_and_looked_up_after_a_lost_run(both: SyncWorld) -> None:
    store = store_of(both)
    lease = timedelta(minutes=2)
    first = await store.claim_intent(both.company_id, "person:1:+49", owner="a", lease=lease, now=NOW)
    assert first is not None and first.attempts == 0
    assert await store.claim_intent(both.company_id, "person:1:+49", owner="b", lease=lease, now=NOW) is None
    again = await store.claim_intent(both.company_id, "person:1:+49", owner="b", lease=lease, now=NOW + lease)
    assert again is not None and again.attempts == 1  # the first owner may have created it: look first
    await store.complete_intent("person:1:+49", "42", now=NOW)
    done = await store.claim_intent(both.company_id, "person:1:+49", owner="c", lease=lease, now=NOW)
    assert done is not None and done.result == "42"


async def test_a_flush_clears_only_the_version_it_wrote(both: SyncWorld) -> None:
    store = store_of(both)
    chat = await both.message("+4917612345678", "x")
    sync_chat = await store.chat(chat)
    assert sync_chat is not None
    await store.link(sync_chat)
    day = date(2026, 3, 2)
    await store.mark_days_dirty(chat, [day], now=NOW, cursor=None)
    [first] = await store.dirty_days(chat, due_before=NOW)
    await store.mark_days_dirty(chat, [day], now=NOW, cursor=None)  # a message arrives during the flush
    await store.clear_dirty(chat, day, first.version)
    assert await store.dirty_days(chat, due_before=NOW) != []
    [newer] = await store.dirty_days(chat, due_before=NOW)
    await store.clear_dirty(chat, day, newer.version)
    assert await store.dirty_days(chat, due_before=NOW) == []


async def test_a_day_keeps_its_oldest_waiting_message_until_written(both: SyncWorld) -> None:
    store = store_of(both)
    chat = await both.message("+4917612345678", "x")
    sync_chat = await store.chat(chat)
    assert sync_chat is not None
    await store.link(sync_chat)
    day, other = date(2026, 3, 2), date(2026, 3, 3)
    first, later = NOW - timedelta(seconds=30), NOW - timedelta(seconds=10)
    await store.mark_days_dirty(chat, [day], now=NOW, cursor=None)  # an edit: nothing live waits
    assert [d.waiting_since for d in await store.dirty_days(chat, due_before=NOW)] == [None]
    await store.mark_days_dirty(chat, [day, other], now=NOW, cursor=None, arrived={day: later})
    await store.mark_days_dirty(chat, [day], now=NOW, cursor=None, arrived={day: first})
    await store.mark_days_dirty(chat, [day], now=NOW, cursor=None, arrived={day: later})
    waiting = {d.day: d.waiting_since for d in await store.dirty_days(chat, due_before=NOW)}
    assert waiting == {day: first, other: None}
    [dirty, _] = await store.dirty_days(chat, due_before=NOW)
    await store.mark_days_dirty(chat, [day], now=NOW, cursor=None)  # changed during the flush: kept
    await store.clear_dirty(chat, day, dirty.version)
    assert {d.day: d.waiting_since for d in await store.dirty_days(chat, due_before=NOW)}[day] == first
    [dirty, _] = await store.dirty_days(chat, due_before=NOW)
    await store.clear_dirty(chat, day, dirty.version)
    await store.mark_days_dirty(chat, [day], now=NOW, cursor=None)  # dirty again, nothing live waits
    assert {d.day: d.waiting_since for d in await store.dirty_days(chat, due_before=NOW)}[day] is None


async def test_chat_leases_keep_workers_apart(both: SyncWorld) -> None:
    store = store_of(both)
    chat = await store.chat(await both.message("+4917612345678", "x"))
    assert chat is not None
    lease = timedelta(minutes=2)
    assert await store.acquire_chat(chat, owner="a", lease=lease, now=NOW)
    assert not await store.acquire_chat(chat, owner="b", lease=lease, now=NOW)
    await store.release_chat(chat.id, owner="a")
    assert await store.acquire_chat(chat, owner="b", lease=lease, now=NOW)


async def test_a_renewed_lease_holds_the_chat_and_its_creates_and_an_unreleased_one_is_abandoned(
    both: SyncWorld,
) -> None:
    store = store_of(both)
    chat = await store.chat(await both.message("+4917612345678", "x"))
    other = await store.chat(await both.message("+4917699999999", "y"))
    assert chat is not None and other is not None
    lease = timedelta(seconds=15)
    assert await store.acquire_chat(chat, owner="a", lease=lease, now=NOW)
    assert await store.claim_intent(both.company_id, "person:a", owner="a", lease=lease, now=NOW)
    assert await store.claim_intent(both.company_id, "person:b", owner="b", lease=lease, now=NOW)
    assert await store.acquire_chat(other, owner="b", lease=lease, now=NOW)
    await store.release_chat(other.id, owner="b")  # a run that ended, however it ended

    later = NOW + timedelta(seconds=10)
    assert await store.renew_chat(chat.id, owner="a", until=later + lease)
    assert not await store.renew_chat(chat.id, owner="b", until=later + lease)  # not b's to renew
    past_first_lease = NOW + timedelta(seconds=20)
    assert not await store.acquire_chat(chat, owner="b", lease=lease, now=past_first_lease)
    assert (
        await store.claim_intent(both.company_id, "person:a", owner="b", lease=lease, now=past_first_lease)
        is None
    )
    again = await store.claim_intent(
        both.company_id, "person:b", owner="c", lease=lease, now=past_first_lease
    )
    assert again is not None  # b's create was not renewed by a's run
    assert await store.abandoned_chats(past_first_lease) == []  # held, or released

    after_renewal = later + lease + timedelta(seconds=1)  # a stopped renewing: its worker died
    assert await store.abandoned_chats(after_renewal) == [chat.id]
    assert await store.acquire_chat(chat, owner="b", lease=lease, now=after_renewal)
    assert await store.abandoned_chats(after_renewal) == []  # held again
    await store.release_chat(chat.id, owner="b")
    assert await store.abandoned_chats(after_renewal + timedelta(hours=1)) == []


async def test_a_full_sync_and_a_lid_merge(both: SyncWorld) -> None:
    seed_person(both.pd, both.pd_company, "Maria", phones=["+49 89 6364 8018"])
    lid = "123456789012345@lid"
    lid_chat = await both.message(None, "written as lid", lid=lid, name="Maria")
    both.transport.lids[lid] = "+498963648018"
    await both.sync(lid_chat)
    phone_chat = await store_of(both).chat_by_key(both.account_id, "498963648018@s.whatsapp.net")
    assert phone_chat is not None
    await both.message("+498963648018", "written with the number", name="Maria")
    await both.sync(phone_chat.id)
    [activity] = both.activities()
    assert activity["note"].count("written as lid") == 1
    assert activity["note"].count("written with the number") == 1
