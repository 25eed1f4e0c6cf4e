"""Links already made are not moved silently: a chat linked by matching to a Person whose phones no longer
match its number under the current rules is listed for an admin (Person, number, why), who keeps the
link (it becomes a manual one, audited, and is not listed again) or re-links the chat (matching runs now;
audited; the chat's next messages go to the new link). Manual links and created Persons are never listed;
admins only, their own company only, every refusal named."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import update

from sandbox.pipedrive.seed import seed_person
from server.domain import phone_compare
from server.services.link_recheck import stale_links
from server.storage.link_recheck import SqlMatchedLinks
from server.storage.sync_index import SqlPhoneIndexStore
from server.storage.tables import AuditLog, table_of
from server.storage.tables_sync import SyncChatLink
from tests.panel.world import PanelWorld
from tests.settings_page.test_settings_effects import link_of
from tests.settings_page.test_settings_page import add_member, company_id, save

SESSION = "wp-acme-anna"
MARIA = "+4917655501234"  # Maria Kunde's number: "+49 176 55501234"


async def chat_from(world: PanelWorld, number: str, *, session: str = SESSION) -> dict[str, Any]:
    """The number writes in; its chat's link once the sync has run."""
    world.waha.receive(session, number.lstrip("+"), "Hallo")
    await world.settle()
    return await link_of(world, number)


async def set_link(world: PanelWorld, chat_id: int, person_id: int, rule: str, name: str = "") -> None:
    """Store a link as an earlier version of the rules (or a person) left it."""
    links = table_of(SyncChatLink)
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(links)
            .where(links.c.chat_id == chat_id)
            .values(state="linked", person_id=person_id, rule=rule, person_name=name, alternatives="")
        )


async def recheck(world: PanelWorld, **params: str) -> httpx.Response:
    return await world.client.get("/settings/recheck", params=params, headers=world.headers())


def listed(html: str) -> list[tuple[str, str]]:
    """(chat id, reason) of every row in the re-check list."""
    return re.findall(r'<tr data-chat-id="(\d+)" data-reason="([a-z_]+)"', html)


async def act(world: PanelWorld, what: str, chat_id: object, person_id: object, **kw: Any) -> httpx.Response:
    form = {"chat_id": str(chat_id), "person_id": str(person_id)}
    return await world.client.post(
        f"/settings/recheck/{what}", data=form, headers=world.headers(kw.get("user"))
    )


async def test_a_link_no_current_rule_would_make_is_listed_with_person_number_and_why(
    world: PanelWorld,
) -> None:
    lisa = world.persons["local"]  # "0176 5550 9999"
    maria = await chat_from(world, MARIA)
    assert maria["rule"] == "index_exact" and maria["person_id"] == world.persons["maria"]
    await set_link(world, maria["chat_id"], lisa, "index_exact", "Lokal Lisa")
    manual = await chat_from(world, "+4930555000111")
    await set_link(world, manual["chat_id"], lisa, "manual")
    created = await chat_from(world, "+4930555000222")
    assert created["rule"] == "created"
    await set_link(world, created["chat_id"], lisa, "created")
    other = await chat_from(world, "+14155550132", session="wp-globex-grace")  # Grace's company
    await set_link(world, other["chat_id"], 424242, "index_exact")

    answer = await recheck(world)
    assert answer.status_code == 200, answer.text
    assert listed(answer.text) == [(str(maria["chat_id"]), "other_number")]
    assert "Lokal Lisa" in answer.text and f"#{lisa}" in answer.text
    assert "+49 176 55501234" in answer.text
    assert "0176 5550 9999 is another number (+49 176 55509999)" in answer.text
    assert "index_exact" in answer.text
    assert "+1 415" not in answer.text and "424242" not in answer.text


async def test_a_fuzzy_link_of_seven_digits_is_listed_when_the_rules_need_more(world: PanelWorld) -> None:
    seven = seed_person(world.pd, world.anna.company_id, "Sieben Stellen", phones=["1 5501234"])["id"]
    stranger = await chat_from(world, "+4930555000111")  # a miss: the engine refreshes its phone index
    maria = await chat_from(world, MARIA)
    await set_link(world, maria["chat_id"], seven, "index_fuzzy", "Sieben Stellen")
    assert stranger["rule"] == "created"

    html = (await recheck(world)).text
    # The rule as matching has it at run time: 7 trailing digits match while the rules take 7, not after.
    if phone_compare.MIN_SUFFIX_DIGITS > 7:
        assert listed(html) == [(str(maria["chat_id"]), "too_few_digits")]
        assert (
            "1 5501234 shares only its last 7 digits with the chat&#39;s number; "
            f"at least {phone_compare.MIN_SUFFIX_DIGITS} must agree"
        ) in html
    else:
        assert listed(html) == []


async def test_keep_makes_the_link_a_manual_one_audited_and_not_listed_again(world: PanelWorld) -> None:
    lisa = world.persons["local"]
    maria = await chat_from(world, MARIA)
    await set_link(world, maria["chat_id"], lisa, "index_exact", "Lokal Lisa")

    kept = await act(world, "keep", maria["chat_id"], lisa)
    assert kept.status_code == 200, kept.text
    assert listed(kept.text) == []
    assert "The link of +49 176 55501234 to Person Lokal Lisa is kept" in kept.text
    assert kept.headers.get("HX-Trigger") == "audit-changed"
    link = await link_of(world, MARIA)
    assert (link["person_id"], link["rule"], link["state"]) == (lisa, "manual", "linked")
    [entry] = await world.rows(AuditLog)
    assert entry["action"] == "chat.keep_link" and entry["company_id"] == await company_id(world)
    assert entry["actor_user_id"] == world.anna.id
    assert f'"person": {lisa}' in entry["details"] and '"rule": "index_exact"' in entry["details"]
    assert listed((await recheck(world)).text) == []


async def test_relink_runs_matching_now_and_the_next_messages_follow(world: PanelWorld) -> None:
    lisa, maria_id = world.persons["local"], world.persons["maria"]
    maria = await chat_from(world, MARIA)
    await set_link(world, maria["chat_id"], lisa, "index_exact", "Lokal Lisa")

    moved = await act(world, "relink", maria["chat_id"], lisa)
    assert moved.status_code == 200, moved.text
    assert listed(moved.text) == []
    assert (
        "+49 176 55501234 is now linked to Person Maria Kunde: matched +49 176 55501234 exactly" in moved.text
    )
    link = await link_of(world, MARIA)
    assert (link["person_id"], link["rule"], link["state"]) == (maria_id, "index_exact", "linked")
    [entry] = await world.rows(AuditLog)
    assert entry["action"] == "chat.rematch"
    assert f'"before": {lisa}' in entry["details"] and f'"after": {maria_id}' in entry["details"]

    world.waha.receive(SESSION, MARIA.lstrip("+"), "Noch eine Frage zur Lieferung")
    await world.settle()
    activities = world.pd.data[world.anna.company_id].activities.values()
    [latest] = [a for a in activities if "Noch eine Frage" in str(a.get("note") or "")]
    assert [p["person_id"] for p in latest["participants"]] == [maria_id]


async def test_relink_with_no_person_matching_follows_the_auto_add_setting(world: PanelWorld) -> None:
    lisa = world.persons["local"]
    assert (await save(world, auto_add_persons=None)).status_code == 200
    stranger = await chat_from(world, "+4930555000111")
    assert stranger["state"] == "unlinked"
    await set_link(world, stranger["chat_id"], lisa, "index_fuzzy", "Lokal Lisa")

    left = await act(world, "relink", stranger["chat_id"], lisa)
    assert left.status_code == 200, left.text
    assert "No Person has +49 30 555000111; auto-add is off, so the chat stays unlinked" in left.text
    await world.settle()
    assert (await link_of(world, "+4930555000111"))["state"] in ("pending", "unlinked")
    assert (await link_of(world, "+4930555000111"))["person_id"] is None

    assert (await save(world)).status_code == 200  # auto-add on again
    await set_link(world, stranger["chat_id"], lisa, "index_fuzzy", "Lokal Lisa")
    created = await act(world, "relink", stranger["chat_id"], lisa)
    assert "No Person has +49 30 555000111; the sync creates a Person for it" in created.text
    world.waha.receive(SESSION, "4930555000111", "Hallo nochmal")
    await world.settle()
    link = await link_of(world, "+4930555000111")
    assert link["rule"] == "created" and link["person_id"] not in (None, lisa)
    person = world.pd.data[world.anna.company_id].persons[link["person_id"]]
    assert [p["value"] for p in person["phones"]] == ["+4930555000111"]


async def test_only_admins_see_and_decide(world: PanelWorld) -> None:
    lisa = world.persons["local"]
    maria = await chat_from(world, MARIA)
    await set_link(world, maria["chat_id"], lisa, "index_exact", "Lokal Lisa")
    member = await add_member(world)
    seen = await world.client.get("/settings/recheck", headers=world.headers(member))
    assert seen.status_code == 403 and 'data-reason="admin_only"' in seen.text and "Lisa" not in seen.text
    for what in ("keep", "relink"):
        refused = await act(world, what, maria["chat_id"], lisa, user=member)
        assert refused.status_code == 403 and 'data-reason="admin_only"' in refused.text
    assert (await world.client.get("/settings/recheck")).status_code == 401
    link = await link_of(world, MARIA)
    assert (link["person_id"], link["rule"]) == (lisa, "index_exact")
    assert await world.rows(AuditLog) == []
    page = await world.client.get("/settings", params={"token": world.token(member)})
    assert 'id="recheck-section"' not in page.text
    admin_page = await world.client.get("/settings", params={"token": world.token()})
    assert 'id="recheck-section"' in admin_page.text and 'hx-get="/settings/recheck"' in admin_page.text


async def test_another_companys_chat_and_a_changed_link_are_refused_by_name(world: PanelWorld) -> None:
    lisa = world.persons["local"]
    other = await chat_from(world, "+14155550132", session="wp-globex-grace")
    await set_link(world, other["chat_id"], 424242, "index_exact")
    for what in ("keep", "relink"):
        refused = await act(world, what, other["chat_id"], 424242)
        assert refused.status_code == 404 and 'data-reason="chat_not_found"' in refused.text
    assert (await link_of(world, "+14155550132"))["rule"] == "index_exact"

    maria = await chat_from(world, MARIA)
    await set_link(world, maria["chat_id"], lisa, "index_exact", "Lokal Lisa")
    changed = await act(world, "keep", maria["chat_id"], world.persons["maria"])
    assert changed.status_code == 409 and 'data-reason="link_changed"' in changed.text
    assert listed(changed.text) == [(str(maria["chat_id"]), "other_number")]
    for chat, person, status, reason in (
        ("abc", lisa, 404, "chat_not_found"),
        ("99999", lisa, 404, "chat_not_found"),
        (maria["chat_id"], "x", 400, "person_invalid"),
        (maria["chat_id"], "", 400, "person_invalid"),
    ):
        refused = await act(world, "relink", chat, person)
        assert refused.status_code == status and f'data-reason="{reason}"' in refused.text, refused.text
    link = await link_of(world, MARIA)
    assert (link["person_id"], link["rule"]) == (lisa, "index_exact")
    assert await world.rows(AuditLog) == []


async def test_the_list_is_paged(world: PanelWorld) -> None:
    lisa = world.persons["local"]
    chats = []
    for number in ("+4930555000111", "+4930555000222", "+4930555000333"):
        chat = await chat_from(world, number)
        await set_link(world, chat["chat_id"], lisa, "index_exact", "Lokal Lisa")
        chats.append(chat["chat_id"])
    company = await company_id(world)
    engine = world.resources.engine
    links, index = SqlMatchedLinks(engine), SqlPhoneIndexStore(engine)
    first = await stale_links(links, index, company, page_size=2)
    assert [row.chat_id for row in first.rows] == chats[:2] and first.next_after == chats[1]
    second = await stale_links(links, index, company, after=first.next_after, page_size=2)
    assert [row.chat_id for row in second.rows] == chats[2:] and second.next_after is None
    # A scan of at most 2 links per request stops early and says where to go on.
    short = await stale_links(links, index, company, page_size=5, scan_limit=2)
    assert [row.chat_id for row in short.rows] == chats[:2] and short.next_after == chats[1]

    page = await recheck(world)
    assert [chat for chat, _ in listed(page.text)] == [str(c) for c in chats]
    after = await recheck(world, after=str(chats[0]))
    assert [chat for chat, _ in listed(after.text)] == [str(c) for c in chats[1:]]
    bad = await recheck(world, after="-1")
    assert bad.status_code == 400 and 'data-reason="after_invalid"' in bad.text
