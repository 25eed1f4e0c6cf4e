"""Pipedrive's Person deliveries applied by the inbound job: a merge moves links to the surviving Person,
a deletion makes the chats match again (the next message never lands on the deleted Person), and a
created or changed Person's phones reach the index without a list request. The deliveries are v2
payloads as Pipedrive documents them, built here."""

from __future__ import annotations

import itertools
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.pipedrive.seed import seed_person
from server.domain.sync import LinkState
from server.jobs.inbound import process_inbound_event
from server.storage.companies import SqlCompanyStore
from server.storage.inbound_events import SqlInboundEventStore
from server.storage.sync import SqlSyncStore
from tests.job_deps import run_ctx
from tests.sync.world import SyncWorld

NUMBER = "+498963648018"
OTHER = "+4930123456"
deliveries = itertools.count(1)


def person_delivery(
    world: SyncWorld,
    action: str,
    person_id: int,
    *,
    merged_to: int | None = None,
    data: dict[str, Any] | None = None,
) -> bytes:
    meta: dict[str, Any] = {
        "action": action,
        "entity": "person",
        "entity_id": str(person_id),  # Pipedrive sends the id as a string in meta
        "company_id": world.pd_company,
        "user_id": world.admin_id,
        "id": f"00000000-0000-4000-8000-{next(deliveries):012d}",
        "correlation_id": "c0ffee00-0000-4000-8000-000000000000",
        "is_bulk_edit": False,
        "timestamp": datetime.now(UTC).isoformat(),
        "type": "application",
        "version": "2.0",
        "webhook_id": "1",
        "webhook_owner_id": world.admin_id,
        "change_source": "app",
        "attempt": 1,
        "host": "acme.pipedrive.com",
        "permitted_user_ids": [world.admin_id],
    }
    if merged_to is not None:
        meta["merged_to_id"] = merged_to
    return json.dumps({"meta": meta, "data": data, "previous": None}).encode()


def person_data(person: dict[str, Any]) -> dict[str, Any]:
    """The ``data`` of a create or change: the Person as the v2 API shows it."""
    return {
        "id": person["id"],
        "name": person["name"],
        "phones": [dict(phone) for phone in person["phones"]],
        "is_deleted": False,
        "update_time": (person["update_time"] or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


async def deliver(world: SyncWorld, body: bytes) -> str:
    """Store the delivery as the route does and run the job it queues."""
    store = SqlInboundEventStore(world.engine)
    event_id, _ = await store.record(
        transport="pipedrive", event_key=f"pipedrive:test:{body.__hash__()}", session_name="", body=body
    )
    ctx = run_ctx(replace(world.deps, inbound_events=store, companies=SqlCompanyStore(world.engine)))
    result: str = await process_inbound_event(ctx, event_id)
    stored = await store.get(event_id)
    assert stored is not None and stored.state == "processed", (result, stored)
    return result


async def link_of(world: SyncWorld, chat_id: int) -> Any:
    store: SqlSyncStore = world.deps.sync_store
    return await store.link_by_chat(chat_id)


def delete_in_pipedrive(world: SyncWorld, person_id: int) -> None:
    world.data.persons[person_id]["is_deleted"] = True


def merge_in_pipedrive(world: SyncWorld, merged: int, survivor: int) -> None:
    """What a merge does to the records WaPipe wrote: the merged Person is gone, its activities are the
    survivor's."""
    delete_in_pipedrive(world, merged)
    for activity in world.data.activities.values():
        for participant in activity["participants"]:
            if participant["person_id"] == merged:
                participant["person_id"] = survivor


async def test_a_merge_moves_the_chat_to_the_surviving_person(world: SyncWorld) -> None:
    merged = seed_person(world.pd, world.pd_company, "Maria (duplicate)", phones=[NUMBER])
    survivor = seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 171 0000000"])
    chat = await world.message(NUMBER, "Hallo!", name="Maria")
    await world.sync(chat)
    assert (await link_of(world, chat)).person_id == merged["id"]
    merge_in_pipedrive(world, merged["id"], survivor["id"])
    world.queue.jobs.clear()

    result = await deliver(world, person_delivery(world, "delete", merged["id"], merged_to=survivor["id"]))

    assert "1 chats moved" in result
    link = await link_of(world, chat)
    assert (link.person_id, link.state, link.person_name) == (
        survivor["id"],
        LinkState.LINKED,
        "Maria Muster",
    )
    assert link.rule == "index_exact"  # the rule it matched by stays
    assert ("sync_chat", (chat,), f"sync:{chat}") in world.queue.jobs
    before = world.operations()
    await world.sync(await world.message(NUMBER, "Noch eine Frage"))
    [activity] = world.activities_of(survivor["id"])
    assert "Hallo!" in activity["note"] and "Noch eine Frage" in activity["note"]
    assert world.activities_of(merged["id"]) == []
    assert len(world.persons()) == 1  # no Person was created for the chat
    after = world.operations()
    assert after.get("GET /api/v2/persons", 0) == before.get("GET /api/v2/persons", 0)
    assert "GET /api/v2/persons/search" not in after


async def test_a_deleted_person_is_matched_again_and_the_next_message_lands_on_the_new_one(
    world: SyncWorld,
) -> None:
    deleted = seed_person(world.pd, world.pd_company, "Maria (old)", phones=[NUMBER])
    chat = await world.message(NUMBER, "Hallo!", name="Maria")
    await world.sync(chat)
    delete_in_pipedrive(world, deleted["id"])
    other = seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])
    world.queue.jobs.clear()

    await deliver(world, person_delivery(world, "delete", deleted["id"]))

    link = await link_of(world, chat)
    assert (link.person_id, link.state) == (None, LinkState.PENDING)
    assert ("sync_chat", (chat,), f"sync:{chat}") in world.queue.jobs
    result = await world.sync(await world.message(NUMBER, "Noch eine Frage"))
    assert "failed" not in result
    assert (await link_of(world, chat)).person_id == other["id"]
    [activity] = world.activities_of(other["id"])
    assert "Noch eine Frage" in activity["note"]
    assert world.activities_of(deleted["id"]) == []


async def test_a_deleted_person_that_wapipe_created_is_created_anew(world: SyncWorld) -> None:
    chat = await world.message(NUMBER, "Hallo!", name="Maria")
    await world.sync(chat)
    [created] = world.persons()
    delete_in_pipedrive(world, created["id"])

    await deliver(world, person_delivery(world, "delete", created["id"]))
    await world.sync(await world.message(NUMBER, "Noch eine Frage", at=datetime.now(UTC) + timedelta(days=1)))

    [again] = world.persons()
    assert again["id"] != created["id"]
    assert again["phones"][0]["value"] == NUMBER
    assert (await link_of(world, chat)).person_id == again["id"]
    [activity] = world.activities_of(again["id"])
    assert "Noch eine Frage" in activity["note"]


async def test_a_changed_phone_reaches_the_index_from_the_delivery_without_a_list_request(
    world: SyncWorld,
) -> None:
    await world.sync(await world.message(OTHER, "warm up the index"))
    person = seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 171 0000000"])
    await deliver(world, person_delivery(world, "create", person["id"], data=person_data(person)))
    person["phones"] = [{"value": "089 6364 8018", "primary": True, "label": "mobile"}]
    person["update_time"] = world.pd.clock.now() + timedelta(seconds=1)
    lists_before = world.operations().get("GET /api/v2/persons", 0)

    await deliver(world, person_delivery(world, "change", person["id"], data=person_data(person)))
    chat = await world.message(NUMBER, "Hallo!")
    await world.sync(chat)

    assert (await link_of(world, chat)).person_id == person["id"]
    assert world.operations().get("GET /api/v2/persons", 0) == lists_before
    assert "GET /api/v2/persons/search" not in world.operations()


async def test_a_redelivered_or_late_change_does_not_bring_back_an_old_number(world: SyncWorld) -> None:
    await world.sync(await world.message(OTHER, "warm up the index"))
    person = seed_person(world.pd, world.pd_company, "Maria Muster", phones=[NUMBER])
    old = person_data(person)
    person["phones"] = [{"value": "+49 171 0000000", "primary": True, "label": "mobile"}]
    person["update_time"] = world.pd.clock.now() + timedelta(seconds=5)
    await deliver(world, person_delivery(world, "change", person["id"], data=person_data(person)))
    await deliver(world, person_delivery(world, "change", person["id"], data=old))  # arrives late

    chat = await world.message(NUMBER, "Hallo!")
    await world.sync(chat)

    assert (await link_of(world, chat)).person_id != person["id"]


async def test_without_a_delivery_a_write_onto_a_deleted_person_matches_the_chat_again(
    world: SyncWorld,
) -> None:
    """The fallback (no webhook, or its delivery lost): the day's activity update is refused because its
    Person is deleted; the chat is matched again and the write goes to the Person that has the number."""
    deleted = seed_person(world.pd, world.pd_company, "Maria (old)", phones=[NUMBER])
    chat = await world.message(NUMBER, "Hallo!", name="Maria")
    await world.sync(chat)
    delete_in_pipedrive(world, deleted["id"])
    other = seed_person(world.pd, world.pd_company, "Maria Muster", phones=["0049 89 63648018"])

    result = await world.sync(await world.message(NUMBER, "Noch eine Frage"))

    assert "failed" not in result
    assert (await link_of(world, chat)).person_id == other["id"]
    [activity] = world.activities_of(other["id"])
    assert "Hallo!" in activity["note"] and "Noch eine Frage" in activity["note"]
    assert world.activities_of(deleted["id"]) == []


async def test_without_a_delivery_a_new_days_activity_for_a_deleted_person_goes_to_a_new_person(
    world: SyncWorld,
) -> None:
    chat = await world.message(NUMBER, "Hallo!", name="Maria")
    await world.sync(chat)
    [created] = world.persons()
    delete_in_pipedrive(world, created["id"])

    result = await world.sync(
        await world.message(NUMBER, "Am nächsten Tag", at=datetime.now(UTC) + timedelta(days=1))
    )

    assert "failed" not in result
    [again] = world.persons()
    assert again["id"] != created["id"]
    [activity] = world.activities_of(again["id"])
    assert "Am nächsten Tag" in activity["note"]
