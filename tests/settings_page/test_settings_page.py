"""The app settings page over HTTP: every setting saved and validated with named errors, admin-only
changes enforced on the server, the audit log, and the team, numbers and problems shown."""

from __future__ import annotations

import re
from typing import Any

import httpx
from sqlalchemy import update

from sandbox.pipedrive.state import SandboxUser
from server.storage.sync import SqlSyncStore
from server.storage.tables import AuditLog, table_of
from tests.panel.world import PanelWorld

BASE_FORM = {
    "import_frequency": "realtime",
    "auto_add_persons": "on",
    "new_chat_action": "nothing",
    "pipeline_id": "",
    "excluded_numbers": "",
}


async def company_id(world: PanelWorld, user: SandboxUser | None = None) -> int:
    from server.storage.companies import SqlCompanyStore

    company = await SqlCompanyStore(world.resources.engine).get((user or world.anna).company_id)
    assert company is not None
    return company.id


def pipeline_ids(world: PanelWorld, user: SandboxUser | None = None) -> list[int]:
    return sorted(world.pd.data[(user or world.anna).company_id].pipelines)


async def add_member(world: PanelWorld, name: str = "Nick Member") -> SandboxUser:
    """A non-admin of Anna's company who installed WaPipe too."""
    user = world.pd.add_user(world.anna.company_id, name, "nick@acme.test", is_admin=False)
    await world.install(user)
    return user


async def save(world: PanelWorld, user: SandboxUser | None = None, **changes: Any) -> httpx.Response:
    form = {**BASE_FORM, **changes}
    form = {key: value for key, value in form.items() if value is not None}
    return await world.client.post("/settings", data=form, headers=world.headers(user))


async def audit(world: PanelWorld) -> list[dict[str, Any]]:
    return await world.rows(AuditLog)


async def test_the_page_shows_settings_team_numbers_problems_and_audit(world: PanelWorld) -> None:
    page = await world.client.get("/settings", params={"token": world.token()})
    assert page.status_code == 200, page.text
    html = page.text
    assert "<h1>WaPipe settings</h1>" in html
    assert 'id="import_frequency"' in html and 'value="realtime" selected' in html
    assert 'id="auto_add_persons" name="auto_add_persons" checked' in html
    assert "Needs “Add new chats as Persons”" in html
    assert "Anna Admin" in html and "anna@acme.test" in html and "Grace" not in html
    assert 'id="numbers-list"' in html and "+4915112345678" in html
    assert 'id="problems-section"' in html and "No open problems." in html
    assert 'id="settings-save"' in html and 'id="read-only"' not in html
    assert 'id="pipeline_id"' not in html  # shown only for "create a deal"


async def test_the_page_needs_a_pipedrive_token(world: PanelWorld) -> None:
    page = await world.client.get("/settings")
    assert page.status_code == 401 and 'data-reason="token_missing"' in page.text
    posted = await world.client.post("/settings", data=BASE_FORM)
    assert posted.status_code == 401


async def test_the_pipeline_choice_appears_only_for_create_a_deal(world: PanelWorld) -> None:
    deal = await world.client.get(
        "/settings/pipeline", params={"new_chat_action": "deal"}, headers=world.headers()
    )
    assert deal.status_code == 200 and 'id="pipeline_id"' in deal.text
    for pipeline_id in pipeline_ids(world):
        assert f'value="{pipeline_id}"' in deal.text
    nothing = await world.client.get(
        "/settings/pipeline", params={"new_chat_action": "nothing"}, headers=world.headers()
    )
    assert nothing.status_code == 200 and 'id="pipeline_id"' not in nothing.text


async def test_every_setting_is_saved_and_audited(world: PanelWorld) -> None:
    pipeline = pipeline_ids(world)[0]
    answer = await save(
        world,
        import_frequency="6h",
        new_chat_action="deal",
        pipeline_id=str(pipeline),
        import_groups="on",
        excluded_numbers="+49 176 55501234\n+1 415 555 0132\n\n+49 176 55501234",
    )
    assert answer.status_code == 200, answer.text
    assert 'id="settings-saved"' in answer.text and answer.headers["HX-Trigger"] == "audit-changed"
    settings = await SqlSyncStore(world.resources.engine).settings(await company_id(world))
    assert settings.import_frequency.value == "6h"
    assert settings.new_chat_action.value == "deal" and settings.pipeline_id == pipeline
    assert settings.auto_add_persons and settings.groups_enabled
    assert settings.excluded_numbers == {"+4917655501234", "+14155550132"}
    assert settings.activity_type_key  # what setup stored is kept
    entries = await audit(world)
    assert [e["action"] for e in entries] == ["settings.update"]
    assert entries[0]["actor_user_id"] == world.anna.id
    assert '"import_frequency": {"after": "6h", "before": "realtime"}' in entries[0]["details"]

    off = await save(world, auto_add_persons=None, import_frequency="24h")
    assert off.status_code == 200
    settings = await SqlSyncStore(world.resources.engine).settings(await company_id(world))
    assert not settings.auto_add_persons and settings.import_frequency.value == "24h"
    assert settings.new_chat_action.value == "nothing" and settings.pipeline_id is None
    assert len(await audit(world)) == 2
    same = await save(world, auto_add_persons=None, import_frequency="24h")
    assert same.status_code == 200 and len(await audit(world)) == 2  # nothing changed, nothing logged

    page = await world.client.get("/settings", params={"token": world.token()})
    assert page.text.count('data-action="settings.update"') == 2
    fragment = await world.client.get("/settings/audit", headers=world.headers())
    assert fragment.status_code == 200 and "Settings changed" in fragment.text


async def test_the_audit_log_names_users_from_the_companys_installations(world: PanelWorld) -> None:
    from server.storage.audit import SqlAuditLog
    from server.storage.tables import Installation

    assert (await save(world, import_frequency="6h")).status_code == 200
    acme = await company_id(world)
    # Grace installed WaPipe in another company: her name is not Acme's to show.
    await SqlAuditLog(world.resources.engine).record(acme, world.grace.id, "chat.exclude", "+49…234", {})
    installation = table_of(Installation)
    async with world.resources.engine.begin() as connection:
        await connection.execute(
            update(installation)
            .where(installation.c.pipedrive_user_id == world.anna.id)
            .values(name="Anna <b>Admin</b>")
        )
    fragment = await world.client.get("/settings/audit", headers=world.headers())
    assert fragment.status_code == 200
    assert "<td>Anna &lt;b&gt;Admin&lt;/b&gt;</td>" in fragment.text
    assert f"<td>User {world.anna.id}</td>" not in fragment.text
    assert f"<td>User {world.grace.id}</td>" in fragment.text and "Grace" not in fragment.text


async def expect_refusal(world: PanelWorld, field: str, reason: str, **changes: Any) -> str:
    answer = await save(world, **changes)
    assert answer.status_code == 400, answer.text
    assert f'data-reason="{reason}"' in answer.text, (field, answer.text)
    return answer.text


async def test_refusals_are_named_keep_what_was_typed_and_store_nothing(world: PanelWorld) -> None:
    await expect_refusal(world, "import_frequency", "invalid_frequency", import_frequency="hourly")
    await expect_refusal(world, "new_chat_action", "invalid_action", new_chat_action="email")
    await expect_refusal(world, "pipeline_id", "pipeline_required", new_chat_action="deal")
    text = await expect_refusal(
        world, "pipeline_id", "unknown_pipeline", new_chat_action="deal", pipeline_id="987654"
    )
    assert 'value="deal" selected' in text
    text = await expect_refusal(
        world, "import_groups", "groups_need_auto_add", auto_add_persons=None, import_groups="on"
    )
    assert 'id="import_groups" name="import_groups" checked' in text
    text = await expect_refusal(
        world,
        "excluded_numbers",
        "excluded_number_needs_country_code",
        excluded_numbers="+49 176 55501234\n0176 5550 9999",
        import_frequency="12h",
    )
    assert "+49 176 55501234\n0176 5550 9999</textarea>" in text and 'value="12h" selected' in text
    await expect_refusal(world, "excluded_numbers", "excluded_number_invalid", excluded_numbers="+1 23")
    text = await expect_refusal(
        world, "excluded_numbers", "excluded_number_invalid", excluded_numbers='+49 170 1\u200b234 "><b>x</b>'
    )
    assert "U+200B ZERO WIDTH SPACE" in text and "<b>x</b>" not in text
    settings = await SqlSyncStore(world.resources.engine).settings(await company_id(world))
    assert settings.import_frequency.value == "realtime" and not settings.excluded_numbers
    assert await audit(world) == []


async def test_non_admins_see_the_page_read_only_and_cannot_change_anything(world: PanelWorld) -> None:
    nick = await add_member(world)
    page = await world.client.get("/settings", params={"token": world.token(nick)})
    assert page.status_code == 200
    assert 'id="read-only"' in page.text and "<fieldset disabled>" in page.text
    assert 'id="settings-save"' not in page.text and 'id="problems-section"' not in page.text
    assert "Nick Member" in page.text and "Anna Admin" in page.text
    refused = await save(world, nick, import_frequency="24h")
    assert refused.status_code == 403 and 'data-reason="admin_only"' in refused.text
    excluded = await world.client.post(
        "/settings/exclusions", data={"chat_id": "1", "excluded": "1"}, headers=world.headers(nick)
    )
    assert excluded.status_code == 403 and 'data-reason="admin_only"' in excluded.text
    settings = await SqlSyncStore(world.resources.engine).settings(await company_id(world))
    assert settings.import_frequency.value == "realtime"
    assert await audit(world) == []


async def test_a_needs_reauth_installation_is_shown_with_a_reinstall_link(world: PanelWorld) -> None:
    installations = world.resources.pipedrive.installations
    nick = await add_member(world)
    found = await installations.get(await company_id(world), nick.id)
    assert found is not None
    await installations.mark_needs_reauth(found.id, "refresh token revoked")
    page = await world.client.get("/settings", params={"token": world.token()})
    row = re.search(rf'<tr data-user-id="{nick.id}" data-state="needs_reauth">(.*?)</tr>', page.text, re.S)
    assert row is not None
    assert "Needs re-authorisation" in row.group(1) and 'href="/install"' in row.group(1)
    assert "refresh token revoked" in row.group(1)


async def test_open_sync_problems_are_shown_to_admins(world: PanelWorld) -> None:
    from server.domain.sync import SyncProblem

    await SqlSyncStore(world.resources.engine).record_problem(
        SyncProblem(
            await company_id(world), None, "field_missing", "The WhatsApp chat link field was deleted"
        )
    )
    page = await world.client.get("/settings", params={"token": world.token()})
    assert 'data-reason="field_missing"' in page.text and "link field was deleted" in page.text
