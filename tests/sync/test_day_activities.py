"""Day activities: one per chat per local day, the day's transcript as note, PATCH only on change, 100 KB
roll-over; settings (new-chat action, frequency, exclusions, groups); attachments uploaded once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sandbox.pipedrive.seed import seed_deal, seed_person
from server.jobs.sync import flush_batched
from server.services.sync.links import exclude_chat, pin_deal, relink_chat
from tests.sync.world import PUBLIC_URL, SyncWorld

NUMBER = "+498963648018"
BERLIN_EVENING = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Berlin


def person(world: SyncWorld) -> dict:  # type: ignore[type-arg]
    return seed_person(world.pd, world.pd_company, "Maria Muster", phones=["+49 89 6364 8018"])


async def test_one_activity_per_chat_per_day_updated_as_messages_arrive(world: SyncWorld) -> None:
    maria = person(world)
    chat = await world.message(NUMBER, "Guten Morgen", name="Maria", at=BERLIN_EVENING - timedelta(hours=12))
    await world.sync(chat)
    await world.message(NUMBER, "Antwort vom Handy", from_me=True, at=BERLIN_EVENING - timedelta(hours=11))
    await world.message(NUMBER, "Noch eine Frage", at=BERLIN_EVENING - timedelta(hours=10))
    await world.sync(chat)
    [activity] = world.activities()
    assert activity["subject"] == "WhatsApp chat with Maria Muster"  # the Person's name, not her WhatsApp one
    assert "<b>Maria</b>: Guten Morgen" in activity["note"]  # her lines: as she calls herself
    settings = await world.deps.sync_store.settings(world.company_id)
    assert activity["type"] == settings.activity_type_key  # the custom type, stored for the company
    assert [p["person_id"] for p in activity["participants"]] == [maria["id"]]
    assert activity["due_date"] == "2026-03-02"
    note = activity["note"]
    for text in ("Guten Morgen", "Antwort vom Handy", "Noch eine Frage"):
        assert note.count(text) == 1
    assert f"{PUBLIC_URL}/chats/{chat}" in note
    types = [t for t in world.data.activity_types.values() if t["name"] == "WhatsApp chat"]
    assert len(types) == 1 and types[0]["key_string"] == activity["type"]


async def test_days_follow_the_company_timezone(world: SyncWorld) -> None:
    person(world)
    chat = await world.message(NUMBER, "late on Monday", at=BERLIN_EVENING)  # 23:30 Berlin
    await world.message(NUMBER, "Tuesday already", at=BERLIN_EVENING + timedelta(hours=1))  # 00:30 Berlin
    await world.sync(chat)
    by_day = {a["due_date"]: a["note"] for a in world.activities()}
    assert set(by_day) == {"2026-03-02", "2026-03-03"}
    assert "late on Monday" in by_day["2026-03-02"] and "Tuesday already" in by_day["2026-03-03"]


async def test_nothing_new_sends_nothing(world: SyncWorld) -> None:
    person(world)
    chat = await world.message(NUMBER, "eins")
    await world.sync(chat)
    before = world.requests()
    await world.sync(chat)
    await world.deps.sync_store.mark_written_days_dirty(chat, now=datetime.now(UTC))
    await world.sync(chat)  # dirty but rendered the same: no PATCH
    assert world.requests() == before


async def test_a_day_over_100_kb_continues_in_part_2(world: SyncWorld) -> None:
    person(world)
    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    chat = 0
    for i in range(70):
        chat = await world.message(NUMBER, f"line {i:03d} " + "x" * 2000, at=start + timedelta(minutes=i))
    await world.sync(chat)
    activities = sorted(world.activities(), key=lambda a: a["id"])
    assert [a["subject"] for a in activities] == [
        "WhatsApp chat with Maria Muster",
        "WhatsApp chat with Maria Muster (part 2)",
    ]
    assert all(len(a["note"].encode()) <= 100 * 1024 for a in activities)
    notes = "".join(a["note"] for a in activities)
    assert all(notes.count(f"line {i:03d} ") == 1 for i in range(70))
    await world.message(NUMBER, "one more", at=start + timedelta(hours=3))
    await world.sync(chat)
    assert len(world.activities()) == 2 and world.notes().count("one more") == 1


async def test_new_chat_action_deal_creates_one_deal_in_the_first_stage(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="deal")
    chat = await world.message("+4917612345678", "Ich will kaufen", name="Klaus")
    await world.sync(chat)
    await world.message("+4917612345678", "Bitte Angebot")
    await world.sync(chat)
    [deal] = [d for d in world.data.deals.values() if not d["is_deleted"]]
    assert deal["title"] == "WhatsApp Deal (+4917612345678)"
    first = min(
        (s for s in world.data.stages.values() if s["pipeline_id"] == deal["pipeline_id"]),
        key=lambda s: s["order_nr"],
    )
    assert deal["stage_id"] == first["id"]
    [activity] = world.activities()
    assert activity["deal_id"] == deal["id"]
    assert f"{PUBLIC_URL}/chats/{chat}" in deal["custom_fields"].values()
    person_record = world.persons()[0]
    assert f"{PUBLIC_URL}/chats/{chat}" in person_record["custom_fields"].values()


async def test_new_chat_action_lead(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="lead")
    chat = await world.message("+4917612345678", "Interesse")
    await world.sync(chat)
    [lead] = list(world.data.leads.values())
    assert lead["title"] == "WhatsApp Lead (+4917612345678)"
    assert world.activities()[0]["lead_id"] == lead["id"]


async def test_a_known_persons_open_deal_is_used_and_a_pin_wins(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="deal")
    maria = person(world)
    older = seed_deal(world.pd, world.pd_company, "Old deal", person_id=maria["id"])
    newer = seed_deal(world.pd, world.pd_company, "New deal", person_id=maria["id"])
    newer["update_time"] = newer["update_time"] + timedelta(minutes=5)
    chat = await world.message(NUMBER, "Hallo")
    await world.sync(chat)
    assert world.activities()[0]["deal_id"] == newer["id"]
    assert len(world.data.deals) == 2  # no deal created: she has an open one
    await pin_deal(
        world.deps.sync_store, world.queue, world.company_id, chat, older["id"], now=datetime.now(UTC)
    )
    await world.sync(chat)
    assert world.activities()[0]["deal_id"] == older["id"]


async def test_a_deal_opened_in_pipedrive_a_moment_ago_is_used_not_duplicated(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="deal")
    maria = person(world)
    await world.sync(await world.message("+4930123456", "loads the deal index"))
    deal = seed_deal(world.pd, world.pd_company, "Maria's deal", person_id=maria["id"])
    chat = await world.message(NUMBER, "Hallo")
    await world.sync(chat)
    assert world.activities_of(maria["id"])[0]["deal_id"] == deal["id"]
    assert [d["title"] for d in world.data.deals.values() if d["person_id"] == maria["id"]] == [
        "Maria's deal"
    ]


async def test_the_chats_deal_follows_pipedrive_with_no_deal_request_per_chat(world: SyncWorld) -> None:
    maria = person(world)
    others = [
        seed_person(world.pd, world.pd_company, f"P{i}", phones=[f"+49 30 1234 56{i}0"]) for i in range(3)
    ]
    chats = [await world.message(f"+493012345{i}0", "Hallo") for i in range(3)]
    for chat in chats:
        await world.sync(chat)
    chat = await world.message(NUMBER, "Hallo")
    await world.sync(chat)
    # one load of the open deals for the four chats, not one lookup per chat
    assert world.operations()["GET /api/v2/deals"] == 1
    assert all(a["deal_id"] is None for a in world.activities())
    deal = seed_deal(world.pd, world.pd_company, "Opened later", person_id=maria["id"])
    world.clock.advance(31)  # past the refresh period
    await world.message(NUMBER, "noch was")
    await world.sync(chat)
    [activity] = world.activities_of(maria["id"])
    assert activity["deal_id"] == deal["id"] and "noch was" in activity["note"]
    assert world.operations()["GET /api/v2/deals"] == 2
    assert len(others) == 3


async def test_relink_moves_the_written_activities(world: SyncWorld) -> None:
    person(world)
    other = seed_person(world.pd, world.pd_company, "Someone Else", phones=["+44 20 7946 0958"])
    chat = await world.message(NUMBER, "Hallo")
    await world.sync(chat)
    link = await relink_chat(
        world.deps.sync_store, world.queue, world.company_id, chat, other["id"], now=datetime.now(UTC)
    )
    assert link.rule == "manual" and link.alternatives
    await world.sync(chat)
    [activity] = world.activities()
    assert [p["person_id"] for p in activity["participants"]] == [other["id"]]


async def test_excluded_numbers_and_chats_write_nothing(world: SyncWorld) -> None:
    await world.set_settings(excluded_numbers="+4917600000001\n")
    await world.sync(await world.message("+4917600000001", "privat"))
    chat = await world.message("+4917600000002", "auch privat")
    await exclude_chat(
        world.deps.sync_store, world.queue, world.company_id, chat, True, now=datetime.now(UTC)
    )
    await world.sync(chat)
    assert world.persons() == [] and world.activities() == [] and world.requests() == 0


async def test_24h_frequency_batches_the_writes(world: SyncWorld) -> None:
    await world.set_settings(import_frequency="24h")
    person(world)
    chat = await world.message(NUMBER, "eins")
    await world.sync(chat)
    await world.message(NUMBER, "zwei")
    await world.sync(chat)
    assert world.activities() == [] and world.requests() == 0
    world.clock.advance(timedelta(hours=24, minutes=1).total_seconds())
    assert await flush_batched(world.ctx) == 1
    await world.sync(chat)
    [activity] = world.activities()
    assert "eins" in activity["note"] and "zwei" in activity["note"]


async def test_groups_get_a_person_of_their_own_and_sender_names(world: SyncWorld) -> None:
    await world.set_settings(import_groups=True)
    group = "120363041234567890@g.us"
    chat = await world.message(
        "+4917611111111", "Meeting Donnerstag?", group=group, group_name="Team Nord", name="Jonas"
    )
    await world.message("+4917622222222", "Passt", group=group, group_name="Team Nord", name="Lea")
    await world.sync(chat)
    [person_record] = world.persons()
    assert person_record["name"] == "Team Nord"
    note = world.notes()
    assert "<b>Jonas</b>" in note and "<b>Lea</b>" in note


async def test_a_groups_name_only_the_gateway_knows_is_asked_for(world: SyncWorld) -> None:
    await world.set_settings(import_groups=True)
    group = "120363049999999999@g.us"
    world.transport.group_subjects[group] = "Einkauf <Süd>"
    chat = await world.message("+4917611111111", "Hallo zusammen", group=group, name="Jonas")
    await world.sync(chat)
    [person_record] = world.persons()
    assert person_record["name"] == "Einkauf <Süd>"
    [activity] = world.activities()
    assert "Einkauf <Süd>" in activity["subject"]


async def test_groups_are_skipped_unless_imported(world: SyncWorld) -> None:
    await world.sync(
        await world.message("+4917611111111", "hi", group="120363041234567890@g.us", group_name="T")
    )
    assert world.persons() == [] and world.requests() == 0


async def test_attachments_are_stored_and_uploaded_once_per_person_and_deal(world: SyncWorld) -> None:
    await world.set_settings(new_chat_action="deal")
    picture = b"\x89PNG" + b"p" * 5000
    chat = await world.message("+4917612345678", "Foto", media=picture, filename="angebot.png")
    await world.message("+4917612345678", "nochmal dasselbe", media=picture, filename="angebot.png")
    await world.sync(chat)
    await world.message("+4917612345678", "danke")
    await world.sync(chat)
    files = list(world.data.files.values())
    assert (
        sorted((f.record.get("person_id") is not None, f.record.get("deal_id") is not None) for f in files)
        == [(False, True), (True, False)]
        or len(files) == 2
    )
    assert all(f.content == picture for f in files)
    assert world.notes().count(f"{PUBLIC_URL}/chats/{chat}/media/") == 2
    assert len(world.transport.fetches) == 2


async def test_an_expired_attachment_is_said_so_in_the_transcript(world: SyncWorld) -> None:
    chat = await world.message("+4917612345678", "", media=b"data")
    world.transport.files.clear()
    await world.sync(chat)
    assert "not available: it could not be downloaded" in world.notes()


async def test_an_attachment_over_the_upload_limit_gets_a_line_instead(world: SyncWorld) -> None:
    from dataclasses import replace

    world.deps = replace(world.deps, sync_config=replace(world.deps.sync_config, upload_limit_bytes=1000))
    chat = await world.message(
        "+4917612345678",
        "",
        media=b"v" * 5000,
        kind=__import__("server.domain.whatsapp", fromlist=["MediaKind"]).MediaKind.VIDEO,
        mime="video/mp4",
    )
    await world.sync(chat)
    assert "too large for Pipedrive" in world.notes()
    assert list(world.data.files.values()) == []
