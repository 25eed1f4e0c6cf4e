"""Retention settings over HTTP, on SQLite and PostgreSQL: saved, shown again and audited; bad input refused
by name with nothing stored; only admins change them; and what the nightly job then deletes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from server.jobs.retention import apply_retention
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.company_settings import SqlCompanySettingsStore
from server.storage.tables import Chat, CompanySettings, table_of
from server.storage.tables_sync import SyncDayActivity
from tests.job_deps import deps_over, run_ctx
from tests.panel.world import PanelWorld, panel_world
from tests.settings_page.test_settings_page import add_member, audit, company_id, save
from tests.world import world_settings_overrides

SESSION = "wp-acme-anna"


@pytest.fixture
async def world(
    migrated_database_url: str, make_settings: Callable[..., Settings]
) -> AsyncIterator[PanelWorld]:
    async with panel_world(
        make_settings(database_url=migrated_database_url, **world_settings_overrides())
    ) as world:
        yield world


async def stored(world: PanelWorld) -> dict[str, Any]:
    table = table_of(CompanySettings)
    company = await company_id(world)
    async with world.resources.engine.connect() as connection:
        row = (await connection.execute(select(table).where(table.c.company_id == company))).mappings().one()
    return dict(row)


async def test_the_page_explains_retention_and_that_pipedrive_keeps_what_it_has(world: PanelWorld) -> None:
    page = await world.client.get("/settings", params={"token": world.token()})
    assert page.status_code == 200
    assert 'id="message_retention_days" name="message_retention_days" value=""' in page.text
    assert 'id="media_retention_days" name="media_retention_days" value=""' in page.text
    assert "Empty keeps messages forever. Otherwise 7 to 3650 days" in page.text
    assert "“removed by retention”" in page.text
    assert "What WaPipe already wrote into Pipedrive" in page.text and "stays there" in page.text


async def test_retention_is_saved_shown_again_and_audited(world: PanelWorld) -> None:
    answer = await save(world, message_retention_days="90", media_retention_days="30")
    assert answer.status_code == 200, answer.text
    assert 'id="settings-saved"' in answer.text
    assert 'name="message_retention_days" value="90"' in answer.text
    assert 'name="media_retention_days" value="30"' in answer.text
    row = await stored(world)
    assert (row["message_retention_days"], row["media_retention_days"]) == (90, 30)
    [entry] = [e for e in await audit(world) if e["action"] == "settings.update"]
    assert '"message_retention_days": {"after": 90, "before": 0}' in entry["details"]
    assert '"media_retention_days": {"after": 30, "before": 0}' in entry["details"]

    # Emptying the fields keeps everything forever again, audited as such.
    assert (await save(world, message_retention_days="", media_retention_days="0")).status_code == 200
    row = await stored(world)
    assert (row["message_retention_days"], row["media_retention_days"]) == (0, 0)
    latest = [e for e in await audit(world) if e["action"] == "settings.update"][-1]
    assert '"message_retention_days": {"after": 0, "before": 90}' in latest["details"]


BAD_RETENTION = [
    ("thirty", "", "message_retention_days", "retention_not_a_number"),
    ("-5", "", "message_retention_days", "retention_not_a_number"),
    ("3", "", "message_retention_days", "retention_out_of_range"),
    ("99999", "", "message_retention_days", "retention_out_of_range"),
    ("", "1.5", "media_retention_days", "retention_not_a_number"),
    ("", "4000", "media_retention_days", "retention_out_of_range"),
    ("30", "60", "media_retention_days", "media_outlives_messages"),
]


async def test_bad_retention_is_refused_by_name_and_nothing_is_stored(world: PanelWorld) -> None:
    """Each bad pair of retentions in turn, after a good one was saved: refused with its field and
    reason and what was typed kept; what is stored and audited stays the good one's after each."""
    assert (await save(world, message_retention_days="60", media_retention_days="20")).status_code == 200
    before = await stored(world)
    for messages, media, field, reason in BAD_RETENTION:
        case = (messages, media)
        answer = await save(world, message_retention_days=messages, media_retention_days=media)
        assert answer.status_code == 400, case
        assert f'data-reason="{reason}"' in answer.text, case
        typed = media if field == "media_retention_days" else messages
        assert f'name="{field}" value="{typed}"' in answer.text, case
        assert await stored(world) == before, case
        assert len([e for e in await audit(world) if e["action"] == "settings.update"]) == 1, case


async def test_a_non_admin_cannot_change_retention(world: PanelWorld) -> None:
    member = await add_member(world)
    answer = await save(world, member, message_retention_days="7")
    assert answer.status_code == 403 and 'data-reason="admin_only"' in answer.text
    assert (await stored(world))["message_retention_days"] == 0
    assert [e for e in await audit(world) if e["action"] == "settings.update"] == []


async def test_the_nightly_job_deletes_what_the_admin_chose_and_pipedrive_keeps_its_activity(
    world: PanelWorld,
) -> None:
    world.waha.receive(SESSION, "4917655501234", "Alte Nachricht", push_name="Maria")
    world.waha.receive("wp-globex-grace", "14155550132", "Globex bleibt", push_name="Sam")
    await world.settle()
    activities_before = dict(world.pd.data[world.anna.company_id].activities)
    assert any("Alte Nachricht" in str(a.get("note")) for a in activities_before.values())
    assert (await save(world, message_retention_days="30")).status_code == 200
    engine = world.resources.engine
    store = SqlCompanySettingsStore(engine)
    assert (await store.get(await company_id(world))).message_retention_days == 30

    [acme_account] = [a.id for a in await SqlAccountStore(engine).for_company(await company_id(world))]
    acme_chats = {c["id"] for c in await world.rows(Chat) if c["account_id"] == acme_account}
    acme = [m for m in await world.messages() if m["account_id"] == acme_account]
    globex = [m for m in await world.messages() if m["account_id"] != acme_account]
    assert any(m["text"] == "Globex bleibt" for m in globex)
    now = datetime.now(UTC)
    ctx = run_ctx(deps_over(engine))
    [kept] = await apply_retention(ctx, now=now)
    assert kept.messages == 0  # a day old, not 30
    [outcome] = await apply_retention(ctx, now=now + timedelta(days=32))
    assert outcome.messages == len(acme) > 0
    assert await world.messages() == globex  # the other company keeps no retention: all of it stays
    days = await world.rows(SyncDayActivity)
    assert [d for d in days if d["chat_id"] in acme_chats] == [] and days  # Globex's days stay
    assert {c["id"] for c in await world.rows(Chat)} >= acme_chats  # chats stay: new messages carry on
    # Pipedrive keeps the day's activity exactly as it was written.
    assert dict(world.pd.data[world.anna.company_id].activities) == activities_before
