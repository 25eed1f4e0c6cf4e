"""Settings take effect in the sync; the matching preview writes nothing; chats are excluded and included
again; hostile text is escaped on the page."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from sandbox.waha.models import Group
from server.storage.sync import SqlSyncStore
from server.storage.tables import AuditLog, Chat, table_of
from server.storage.tables_sync import PhoneIndexEntry, SyncChatLink
from tests.panel.world import PanelWorld
from tests.settings_page.test_settings_page import pipeline_ids, save
from tests.world import pipedrive_records

SESSION = "wp-acme-anna"


async def table(world: PanelWorld, model: Any) -> list[dict[str, Any]]:
    sa_table = table_of(model)
    async with world.resources.engine.connect() as connection:
        result = await connection.execute(select(sa_table).order_by(*sa_table.primary_key.columns))
        return [dict(row) for row in result.mappings()]


async def link_of(world: PanelWorld, chat: str) -> dict[str, Any]:
    """The sync link of the chat with this number (E.164) or group chat key."""
    links, chats = table_of(SyncChatLink), table_of(Chat)
    query = (
        select(links)
        .select_from(links.join(chats, chats.c.id == links.c.chat_id))
        .where((chats.c.e164 == chat) | (chats.c.chat_key == chat))
    )
    async with world.resources.engine.connect() as connection:
        rows = [dict(row) for row in (await connection.execute(query)).mappings()]
    assert len(rows) == 1, rows
    return rows[0]


def persons(world: PanelWorld) -> dict[int, Any]:
    return dict(world.pd.data[world.anna.company_id].persons)


def deals(world: PanelWorld) -> dict[int, Any]:
    return dict(world.pd.data[world.anna.company_id].deals)


async def test_auto_add_off_leaves_an_unknown_number_without_a_person(world: PanelWorld) -> None:
    assert (await save(world, auto_add_persons=None)).status_code == 200
    before = persons(world)
    world.waha.receive(SESSION, "4930555000111", "Hallo, wer ist da?", push_name="Unbekannt")
    await world.settle()
    assert persons(world) == before
    assert (await link_of(world, "+4930555000111"))["state"] == "unlinked"


async def test_create_a_deal_creates_one_in_the_chosen_pipeline(world: PanelWorld) -> None:
    pipeline = pipeline_ids(world)[-1]
    answer = await save(world, new_chat_action="deal", pipeline_id=str(pipeline))
    assert answer.status_code == 200, answer.text
    before = deals(world)
    world.waha.receive(SESSION, "4917655509999", "Ich hätte gern ein Angebot")
    await world.settle()
    created = [deal for deal_id, deal in deals(world).items() if deal_id not in before]
    assert len(created) == 1 and created[0]["pipeline_id"] == pipeline
    assert created[0]["person_id"] == world.persons["local"]


async def test_groups_off_write_nothing_and_groups_on_create_the_groups_person(world: PanelWorld) -> None:
    group_id = "120363041234567890@g.us"
    world.waha.session(SESSION).groups[group_id] = Group(group_id, "Team Nord", [])
    before = persons(world)
    world.waha.receive(SESSION, "4917611111111", "Meeting Donnerstag?", group=group_id, push_name="Jonas")
    await world.settle()
    assert persons(world) == before
    assert (await link_of(world, group_id))["state"] == "group_not_imported"

    assert (await save(world, import_groups="on")).status_code == 200
    world.waha.receive(SESSION, "4917611111111", "Und?", group=group_id, push_name="Jonas")
    await world.settle()
    assert len([p for i, p in persons(world).items() if i not in before]) == 1


async def test_an_excluded_number_is_not_logged(world: PanelWorld) -> None:
    assert (await save(world, excluded_numbers="+49 176 55501234")).status_code == 200
    activities = dict(world.pd.data[world.anna.company_id].activities)
    world.waha.receive(SESSION, "4917655501234", "Privat")
    await world.settle()
    assert world.pd.data[world.anna.company_id].activities == activities
    assert (await link_of(world, "+4917655501234"))["state"] == "excluded"


async def test_the_matching_preview_shows_person_and_rule_and_writes_nothing(world: PanelWorld) -> None:
    world.waha.receive(SESSION, "4917655501234", "Hallo")  # the engine builds the phone index
    await world.settle()
    pd_before = pipedrive_records(world.pd, world.anna.company_id, usage=False)
    index_before = await table(world, PhoneIndexEntry)
    assert index_before
    form = {"numbers": "+49 176 55501234\n0176 5550 9999\n+49 30 1234567\n+1 23\n\n"}
    answer = await world.client.post("/settings/preview", data=form, headers=world.headers())
    assert answer.status_code == 200, answer.text
    rows = answer.text.split("<tr data-rule=")[1:]
    assert len(rows) == 4
    assert rows[0].startswith('"index_exact"') and "Maria Kunde" in rows[0] and "phone index" in rows[0]
    assert "Lokal Lisa" in rows[1] and f"#{world.persons['local']}" in rows[1]
    assert rows[2].startswith('"no_match"') and "No Person" in rows[2]
    assert rows[3].startswith('"number_invalid"')
    assert pipedrive_records(world.pd, world.anna.company_id, usage=False) == pd_before
    assert await table(world, PhoneIndexEntry) == index_before
    assert await world.rows(AuditLog) == []


async def test_the_preview_searches_pipedrive_when_the_index_does_not_know_the_number(
    world: PanelWorld,
) -> None:
    from sandbox.pipedrive.seed import seed_person

    pd_person = seed_person(world.pd, world.anna.company_id, "Neu Angelegt", phones=["+49 40 5550 1234"])
    pd_before = pipedrive_records(world.pd, world.anna.company_id, usage=False)
    index_before = await table(world, PhoneIndexEntry)
    answer = await world.client.post(
        "/settings/preview", data={"numbers": "+49 40 55501234"}, headers=world.headers()
    )
    assert answer.status_code == 200
    assert "Neu Angelegt" in answer.text and f"#{pd_person['id']}" in answer.text
    assert "Pipedrive search" in answer.text and 'data-rule="search_' in answer.text
    assert pipedrive_records(world.pd, world.anna.company_id, usage=False) == pd_before
    assert await table(world, PhoneIndexEntry) == index_before


async def test_chats_are_excluded_and_included_again_with_audit(world: PanelWorld) -> None:
    world.waha.receive(SESSION, "4917655501234", "Hallo", push_name="Maria")
    await world.settle()
    link = await link_of(world, "+4917655501234")
    excluded = await world.client.post(
        "/settings/exclusions",
        data={"chat_id": str(link["chat_id"]), "excluded": "1"},
        headers=world.headers(),
    )
    assert excluded.status_code == 200 and "Include again" in excluded.text
    store = SqlSyncStore(world.resources.engine)
    assert (await store.link_by_chat(link["chat_id"])).excluded  # type: ignore[union-attr]
    included = await world.client.post(
        "/settings/exclusions",
        data={"chat_id": str(link["chat_id"]), "excluded": "0"},
        headers=world.headers(),
    )
    assert included.status_code == 200 and "No chat is excluded." in included.text
    assert not (await store.link_by_chat(link["chat_id"])).excluded  # type: ignore[union-attr]
    assert [row["action"] for row in await world.rows(AuditLog)] == ["chat.exclude", "chat.include"]
    for bad in ("999999", "abc", ""):
        refused = await world.client.post(
            "/settings/exclusions", data={"chat_id": bad, "excluded": "1"}, headers=world.headers()
        )
        assert refused.status_code == 404 and 'data-reason="chat_not_found"' in refused.text


async def test_another_companys_chat_cannot_be_excluded(world: PanelWorld) -> None:
    world.waha.receive("wp-globex-grace", "14155550132", "Hi")
    await world.settle()
    link = await link_of(world, "+14155550132")
    refused = await world.client.post(
        "/settings/exclusions",
        data={"chat_id": str(link["chat_id"]), "excluded": "1"},
        headers=world.headers(),
    )
    assert refused.status_code == 404
    assert not (await SqlSyncStore(world.resources.engine).link_by_chat(link["chat_id"])).excluded  # type: ignore[union-attr]


async def test_hostile_text_is_escaped_on_the_settings_page(world: PanelWorld) -> None:
    evil = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202e\u200b'
    world.waha.receive(SESSION, "4917655509876", "x", push_name=evil)
    await world.settle()
    link = await link_of(world, "+4917655509876")
    await world.client.post(
        "/settings/exclusions",
        data={"chat_id": str(link["chat_id"]), "excluded": "1"},
        headers=world.headers(),
    )
    refused = await save(world, excluded_numbers=evil)
    assert refused.status_code == 400
    assert (
        "<script>alert" not in refused.text
        and "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;" in refused.text
    )
    preview = await world.client.post("/settings/preview", data={"numbers": evil}, headers=world.headers())
    assert "<script>alert" not in preview.text and "<img src=x" not in preview.text
    page = await world.client.get("/settings", params={"token": world.token()})
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page.text
