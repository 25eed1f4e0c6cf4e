"""Erasing a contact from the settings page over HTTP, on SQLite and PostgreSQL: review first (nothing goes),
then erase in the admin's own company only, list what stays in Pipedrive, audit it without keeping the
number; non-admins and bad numbers are refused by name and lose nothing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from server.settings import Settings
from server.storage.tables import Chat, MediaBlob, table_of
from tests.panel.world import PanelWorld, panel_world
from tests.settings_page.test_settings_page import add_member, audit, company_id
from tests.world import world_settings_overrides

ANNA_SESSION = "wp-acme-anna"
GRACE_SESSION = "wp-globex-grace"
MARIA = "4917655501234"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
async def world(
    migrated_database_url: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[PanelWorld]:
    async with panel_world(
        make_settings(database_url=migrated_database_url, **world_settings_overrides())
    ) as world:
        yield world


async def maria_writes_to_both_companies(world: PanelWorld) -> None:
    world.waha.receive(ANNA_SESSION, MARIA, "Hallo Anna, hier Maria", push_name="Maria")
    world.waha.receive(ANNA_SESSION, MARIA, "Meine Adresse ist geheim", push_name="Maria")
    world.waha.receive(
        ANNA_SESSION, MARIA, "", kind="image", data=PNG, mimetype="image/png", filename="a.png"
    )
    world.waha.receive(GRACE_SESSION, MARIA, "Hallo Grace, hier Maria", push_name="Maria")
    await world.settle()


async def texts(world: PanelWorld) -> set[str]:
    return {m["text"] for m in await world.messages()}


async def maria_chats(world: PanelWorld) -> list[int]:
    return [c["account_id"] for c in await world.rows(Chat) if c["e164"] == "+" + MARIA]


async def stored_files(world: PanelWorld) -> list[Path]:
    table = table_of(MediaBlob)
    async with world.resources.engine.connect() as connection:
        return [Path(p) for p in (await connection.execute(select(table.c.path))).scalars()]


async def erase(world: PanelWorld, phone: str, *, confirm: bool) -> tuple[int, str]:
    form = {"phone": phone, **({"confirm": "yes"} if confirm else {})}
    answer = await world.client.post("/settings/erase", data=form, headers=world.headers())
    return answer.status_code, answer.text


async def test_an_admin_reviews_then_erases_a_contact_and_sees_what_stays_in_pipedrive(
    world: PanelWorld,
) -> None:
    await maria_writes_to_both_companies(world)
    page = await world.client.get("/settings", params={"token": world.token()})
    assert 'id="erase-section"' in page.text and 'id="erase-phone"' in page.text
    photo_sha = hashlib.sha256(PNG).hexdigest()
    [photo] = [f for f in await stored_files(world) if f.name == photo_sha]
    assert photo.exists()
    before = await texts(world)

    status, review = await erase(world, "+49 176 55501234", confirm=False)
    assert status == 200, review
    assert 'data-stage="confirm"' in review and 'id="erase-confirm"' in review
    assert '<input type="hidden" name="phone" value="+4917655501234">' in review
    assert "3 message(s), also in groups" in review and "1 attachment(s)" in review
    assert await texts(world) == before  # the review deletes nothing
    assert [e for e in await audit(world) if e["action"] == "contact.erase"] == []

    answer = await world.client.post(
        "/settings/erase", data={"phone": "+4917655501234", "confirm": "yes"}, headers=world.headers()
    )
    assert answer.status_code == 200 and answer.headers["hx-trigger"] == "audit-changed"
    assert 'data-stage="done"' in answer.text and 'data-phone="+4917655501234"' in answer.text
    assert "1 chat(s), 3 message(s)" in answer.text
    remaining = answer.text.split('id="erase-remaining">')[1].split("</ul>")[0]
    assert f"person {world.persons['maria']} (Maria Kunde)" in remaining
    assert "activity " in remaining and "WhatsApp chat of" in remaining

    left = await texts(world)
    assert "Hallo Anna, hier Maria" not in left and "Meine Adresse ist geheim" not in left
    assert "Hallo Grace, hier Maria" in left  # the other company's chat with the same number stays
    assert len(await maria_chats(world)) == 1
    assert not photo.exists() and photo not in await stored_files(world)
    panel = await world.client.get(
        "/panel/messages", params={"person_id": world.persons["maria"]}, headers=world.headers()
    )
    assert panel.status_code == 200 and "hier Maria" not in panel.text and "geheim" not in panel.text
    # Pipedrive keeps what WaPipe wrote: the activity with the day's transcript is still there.
    notes = [str(a.get("note")) for a in world.pd.data[world.anna.company_id].activities.values()]
    assert any("Meine Adresse ist geheim" in note for note in notes)

    [entry] = [e for e in await audit(world) if e["action"] == "contact.erase"]
    assert entry["subject"] == "+49…234" and entry["actor_user_id"] == world.anna.id
    assert '"messages": 3' in entry["details"] and MARIA not in entry["details"]
    assert entry["company_id"] == await company_id(world)

    status, again = await erase(world, "+4917655501234", confirm=False)  # nothing left to erase
    assert status == 200 and 'id="erase-nothing"' in again


async def test_a_non_admin_is_refused_on_the_server_and_nothing_is_erased(world: PanelWorld) -> None:
    await maria_writes_to_both_companies(world)
    member = await add_member(world)
    page = await world.client.get("/settings", params={"token": world.token(member)})
    assert 'id="erase-section"' not in page.text
    before = await texts(world)
    for form in ({"phone": "+4917655501234"}, {"phone": "+4917655501234", "confirm": "yes"}):
        answer = await world.client.post("/settings/erase", data=form, headers=world.headers(member))
        assert answer.status_code == 403 and 'data-reason="admin_only"' in answer.text
    assert await texts(world) == before
    assert [e for e in await audit(world) if e["action"] == "contact.erase"] == []


BAD_NUMBERS = [
    ("", "phone_required"),
    ("   ", "phone_required"),
    ("Maria Kunde", "phone_invalid"),  # a name, not a number: its first letter is named
    ("0176 55501234", "phone_needs_country_code"),
    ("+12", "phone_invalid"),
    ("+49 abc", "phone_invalid"),
]


async def test_bad_numbers_are_refused_by_name_and_nothing_is_erased(world: PanelWorld) -> None:
    """Each bad number in turn, confirmed at once: refused with its reason and what was typed kept, and
    nothing erased or audited after any of them."""
    await maria_writes_to_both_companies(world)
    before = await texts(world)
    for typed, reason in BAD_NUMBERS:
        answer = await world.client.post(
            "/settings/erase", data={"phone": typed, "confirm": "yes"}, headers=world.headers()
        )
        assert answer.status_code == 400 and f'data-reason="{reason}"' in answer.text, typed
        assert f'id="erase-phone" name="phone" value="{typed}"' in answer.text, typed
        assert await texts(world) == before, typed
        assert [e for e in await audit(world) if e["action"] == "contact.erase"] == [], typed


async def test_the_company_comes_from_the_token_never_from_the_form(world: PanelWorld) -> None:
    await maria_writes_to_both_companies(world)
    acme = await company_id(world)
    answer = await world.client.post(
        "/settings/erase",
        data={"phone": "+4917655501234", "confirm": "yes", "company_id": str(acme), "companyId": str(acme)},
        headers=world.headers(world.grace),
    )
    assert answer.status_code == 200 and "1 chat(s), 1 message(s)" in answer.text
    left = await texts(world)
    assert "Hallo Grace, hier Maria" not in left
    assert {"Hallo Anna, hier Maria", "Meine Adresse ist geheim"} <= left
    [entry] = [e for e in await audit(world) if e["action"] == "contact.erase"]
    assert entry["company_id"] == await company_id(world, world.grace)


async def test_erasing_needs_a_valid_pipedrive_token(world: PanelWorld) -> None:
    await maria_writes_to_both_companies(world)
    before = await texts(world)
    missing = await world.client.post("/settings/erase", data={"phone": "+4917655501234", "confirm": "yes"})
    assert missing.status_code == 401 and 'data-reason="token_missing"' in missing.text
    expired = await world.client.post(
        "/settings/erase",
        data={"phone": "+4917655501234", "confirm": "yes"},
        headers={"X-Pipedrive-Token": world.token(ttl=-60)},
    )
    assert expired.status_code == 401
    assert await texts(world) == before
