"""Matching a chat to a Person: stored link → local index (refreshed on a miss) → create or unlinked."""

from __future__ import annotations

import asyncio

import pytest

from sandbox.pipedrive.seed import PHONE_FORMATS, seed_deal, seed_person
from server.storage.sync import SqlSyncStore
from tests.sync.world import AGENT_EMAIL, SyncWorld

NUMBER = "+498963648018"
FORMATS = ["+49 89 6364 8018", "0049896364-8018", "(089) 63648018", "8963648018"]


async def link_of(world: SyncWorld, chat_id: int) -> object:
    store: SqlSyncStore = world.deps.sync_store
    return await store.link_by_chat(chat_id)


@pytest.mark.parametrize("stored", FORMATS)
async def test_every_stored_format_is_found_in_the_index_without_a_search(
    world: SyncWorld, stored: str
) -> None:
    person = seed_person(world.pd, world.pd_company, "Maria Muster", phones=[stored])
    chat = await world.message(NUMBER, "Hallo!", name="Maria")
    await world.sync(chat)
    link = await link_of(world, chat)
    assert link.person_id == person["id"]  # type: ignore[attr-defined]
    assert link.rule in ("index_exact", "index_fuzzy")  # type: ignore[attr-defined]
    assert "GET /api/v2/persons/search" not in world.operations()
    assert len(world.persons()) == 1


@pytest.mark.parametrize("stored", FORMATS)
async def test_a_person_added_after_the_index_was_built_is_found_by_refreshing_it_without_a_search(
    world: SyncWorld, stored: str
) -> None:
    await world.sync(await world.message("+4930123456", "warm up the index"))
    lists_before = world.operations().get("GET /api/v2/persons", 0)
    person = seed_person(world.pd, world.pd_company, "Maria Muster", phones=[stored])  # after the build
    chat = await world.message(NUMBER, "Hallo!")
    await world.sync(chat)
    link = await link_of(world, chat)
    assert link.person_id == person["id"]  # type: ignore[attr-defined]
    assert link.rule in ("index_exact", "index_fuzzy")  # type: ignore[attr-defined]
    assert "GET /api/v2/persons/search" not in world.operations()
    assert world.operations()["GET /api/v2/persons"] - lists_before == 1  # one updated_since page
    assert len(world.persons()) == 2  # the warm-up's Person and Maria: none created for this chat


async def test_an_exact_match_wins_over_a_fuzzy_one_found_in_the_same_refresh(world: SyncWorld) -> None:
    await world.sync(await world.message("+4930123456", "warm up"))
    # 0190 numbers no longer exist in Germany: no whole number, so its last 8 digits may match.
    fuzzy = seed_person(world.pd, world.pd_company, "Maria (old)", phones=["0190 63648018"])
    exact = seed_person(world.pd, world.pd_company, "Maria", phones=["+498963648018"])
    chat = await world.message(NUMBER, "Hi")
    await world.sync(chat)
    link = await link_of(world, chat)
    assert link.rule == "index_exact"  # type: ignore[attr-defined]
    assert link.person_id == exact["id"]  # type: ignore[attr-defined]
    assert link.alternatives == (fuzzy["id"],)  # type: ignore[attr-defined]


async def test_an_unknown_number_costs_one_refresh_and_no_search(world: SyncWorld) -> None:
    await world.sync(await world.message("+4930123456", "warm up"))
    lists_before = world.operations().get("GET /api/v2/persons", 0)
    await world.sync(await world.message("+4917612345678", "Neu hier", name="Klaus"))
    assert [p["name"] for p in world.persons() if p["name"] == "Klaus"] == ["Klaus"]
    assert "GET /api/v2/persons/search" not in world.operations()
    assert world.operations()["GET /api/v2/persons"] - lists_before == 1


async def test_several_candidates_choose_deterministically_and_keep_the_others(world: SyncWorld) -> None:
    exact = seed_person(world.pd, world.pd_company, "Maria (exact)", phones=["+49 89 6364 8018"])
    fuzzy = seed_person(world.pd, world.pd_company, "Maria (old)", phones=["0190 63648018"])
    chat = await world.message(NUMBER, "Hi")
    await world.sync(chat)
    link = await link_of(world, chat)
    assert link.person_id == exact["id"]  # type: ignore[attr-defined]
    assert link.alternatives == (fuzzy["id"],)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("stored", "number"),
    [
        ("+55 11 8765-4321", "+5511987654321"),
        ("+54 11 2345 6789", "+5491123456789"),
        ("+52 1 55 1234 5678", "+525512345678"),
    ],
)
async def test_country_variants_find_the_same_person(world: SyncWorld, stored: str, number: str) -> None:
    person = seed_person(world.pd, world.pd_company, "Cliente", phones=[stored])
    chat = await world.message(number, "Oi")
    await world.sync(chat)
    link = await link_of(world, chat)
    assert link.person_id == person["id"]  # type: ignore[attr-defined]
    assert len(world.persons()) == 1


async def test_unknown_number_creates_a_person_named_by_profile_in_e164_owned_by_the_number_owner(
    world: SyncWorld,
) -> None:
    chat = await world.message("+4917612345678", "Neu hier", name="Klaus Kunde")
    await world.sync(chat)
    [person] = world.persons()
    assert person["name"] == "Klaus Kunde"
    assert [p["value"] for p in person["phones"]] == ["+4917612345678"]
    assert person["owner_id"] == world.agent_id  # Bob's installation email matches, case aside
    assert world.pd.users[world.agent_id].email == AGENT_EMAIL
    link = await link_of(world, chat)
    assert link.rule == "created"  # type: ignore[attr-defined]
    assert len(world.activities()) == 1


async def test_unknown_number_without_a_profile_name_is_named_by_the_number(world: SyncWorld) -> None:
    await world.sync(await world.message("+4917612345678", "?"))
    assert [p["name"] for p in world.persons()] == ["+4917612345678"]


async def test_owner_falls_back_to_the_admin(world: SyncWorld) -> None:
    world.pd.users[world.agent_id].email = "someone-else@acme.test"
    await world.sync(await world.message("+4917612345678", "?"))
    assert [p["owner_id"] for p in world.persons()] == [world.admin_id]


async def test_auto_add_off_keeps_the_chat_unlinked_and_logs_nothing(world: SyncWorld) -> None:
    await world.set_settings(auto_add_persons=False)
    chat = await world.message("+4917612345678", "Hallo")
    await world.sync(chat)
    assert world.persons() == []
    assert world.activities() == []
    assert (await link_of(world, chat)).state.value == "unlinked"  # type: ignore[attr-defined]
    lookups = world.operations()["GET /api/v2/persons"]
    await world.message("+4917612345678", "noch was")
    await world.sync(chat)
    assert world.operations()["GET /api/v2/persons"] == lookups  # not looked up again at once
    assert "GET /api/v2/persons/search" not in world.operations()


async def test_turning_auto_add_back_on_logs_the_unlinked_chat_with_its_earlier_messages(
    world: SyncWorld,
) -> None:
    await world.set_settings(auto_add_persons=False)
    chat = await world.message("+4917612345678", "Hallo", name="Klaus")
    await world.sync(chat)
    assert world.persons() == []
    await world.set_settings(auto_add_persons=True)
    await world.message("+4917612345678", "noch was", name="Klaus")
    await asyncio.wait_for(world.sync(chat), timeout=30)
    [person] = world.persons()
    assert person["name"] == "Klaus"
    [activity] = world.activities()
    assert "Hallo" in activity["note"] and "noch was" in activity["note"]


async def test_the_stored_link_is_used_and_a_known_number_costs_no_search(world: SyncWorld) -> None:
    seed_person(world.pd, world.pd_company, "Maria", phones=["+49 89 6364 8018"])
    chat = await world.message(NUMBER, "eins")
    await world.sync(chat)
    before = world.operations().get("GET /api/v2/persons/search", 0)
    await world.message(NUMBER, "zwei")
    await world.sync(chat)
    assert world.operations().get("GET /api/v2/persons/search", 0) == before == 0


async def test_a_hidden_sender_is_resolved_through_the_transport_and_merged(world: SyncWorld) -> None:
    lid = "123456789012345@lid"
    person = seed_person(world.pd, world.pd_company, "Maria", phones=["+49 89 6364 8018"])
    chat = await world.message(None, "from a lid", lid=lid, name="Maria")
    world.transport.lids[lid] = NUMBER
    result = await world.sync(chat)
    assert "merged" in result or "linked" in result
    phone_chat = await world.deps.sync_store.chat_by_key(world.account_id, "498963648018@s.whatsapp.net")
    await world.sync(phone_chat.id)
    link = await link_of(world, phone_chat.id)
    assert link.person_id == person["id"]  # type: ignore[attr-defined]
    assert "from a lid" in world.notes()


async def test_an_unresolvable_hidden_sender_waits_and_writes_nothing(world: SyncWorld) -> None:
    chat = await world.message(None, "who am I", lid="99999999@lid")
    await world.sync(chat)
    assert world.persons() == [] and world.activities() == []
    assert (await link_of(world, chat)).state.value == "waiting_for_number"  # type: ignore[attr-defined]


async def test_a_number_from_another_country_sharing_the_last_digits_gets_its_own_person_and_lead(
    world: SyncWorld,
) -> None:
    # The demo's Mobile Max: +49 151 12345678, also stored as the German national "0151 1234 5678", with a
    # Deal. A Mexican number ending in the same 8 digits is someone else (the company is German: its
    # WhatsApp number is +49).
    await world.set_settings(new_chat_action="lead")
    max_ = seed_person(world.pd, world.pd_company, "Mobile Max", phones=[PHONE_FORMATS[5], PHONE_FORMATS[6]])
    deal = seed_deal(world.pd, world.pd_company, "Max's deal", person_id=max_["id"])
    chat = await world.message("+5215512345678", "Hola", name="Lupita")
    await world.sync(chat)
    link = await link_of(world, chat)
    assert link.rule == "created"  # type: ignore[attr-defined]
    assert link.alternatives == ()  # type: ignore[attr-defined]
    lupita = next(p for p in world.persons() if p["name"] == "Lupita")
    assert link.person_id == lupita["id"] != max_["id"]  # type: ignore[attr-defined]
    [lead] = list(world.data.leads.values())
    assert lead["person_id"] == lupita["id"]
    [activity] = world.activities()
    assert activity["lead_id"] == lead["id"] and activity["deal_id"] is None
    assert activity["participants"][0]["person_id"] == lupita["id"]
    assert world.activities_of(max_["id"]) == []
    assert deal["id"] in world.data.deals  # Max's Deal is untouched
