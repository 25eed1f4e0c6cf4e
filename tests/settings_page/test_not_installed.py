"""The settings page for a user without an installation of their own: it says what to do next and shows
nothing of the company (no team, emails, numbers, chats, settings, problems or audit log); its parts refuse
by name."""

from __future__ import annotations

import httpx

from sandbox.pipedrive.state import SandboxUser
from tests.panel.world import ANNA_NUMBER, PanelWorld

SESSION = "wp-acme-anna"
BASE_FORM = {
    "import_frequency": "6h",
    "auto_add_persons": "on",
    "new_chat_action": "nothing",
    "pipeline_id": "",
    "excluded_numbers": "+49 170 9998887",
}


async def company_with_data(world: PanelWorld) -> list[str]:
    """A chat, a changed setting (audited) and a sync problem in Anna's company; what of it a page
    could show."""
    from server.domain.sync import SyncProblem
    from server.storage.companies import SqlCompanyStore
    from server.storage.sync import SqlSyncStore

    world.waha.receive(SESSION, "4917655501234", "Hallo", push_name="Maria Vertraulich")
    await world.settle()
    saved = await world.client.post("/settings", data=BASE_FORM, headers=world.headers())
    assert saved.status_code == 200, saved.text
    company = await SqlCompanyStore(world.resources.engine).get(world.anna.company_id)
    assert company is not None
    await SqlSyncStore(world.resources.engine).record_problem(
        SyncProblem(company.id, None, "field_missing", "The WhatsApp chat link field was deleted")
    )
    return [
        "Anna Admin",
        "anna@acme.test",
        f"+{ANNA_NUMBER}",
        "Maria Kunde",  # the chat, named after the Person it is linked to
        "+4917655501234",
        "9998887",  # the excluded number's last digits, however it is written
        "settings.update",
        "Settings changed",
        "link field was deleted",
        'id="import_frequency"',
        'id="team-section"',
        'id="audit-section"',
    ]


def shows_nothing_of(page: httpx.Response, secrets: list[str]) -> None:
    assert [secret for secret in secrets if secret in page.text] == []


async def parts_refuse(world: PanelWorld, user: SandboxUser, reason: str) -> None:
    headers = world.headers(user)
    answers = {
        "audit": await world.client.get("/settings/audit", headers=headers),
        "pipeline": await world.client.get(
            "/settings/pipeline", params={"new_chat_action": "deal"}, headers=headers
        ),
        "preview": await world.client.post(
            "/settings/preview", data={"numbers": "+49 176 55501234"}, headers=headers
        ),
        "recheck": await world.client.get("/settings/recheck", headers=headers),
    }
    for part, answer in answers.items():
        assert answer.status_code == 403, (part, answer.text)
        assert f'data-reason="{reason}"' in answer.text, (part, answer.text)
        assert "Maria" not in answer.text and "Settings changed" not in answer.text, part


async def test_a_colleague_who_never_installed_sees_only_how_to_install(world: PanelWorld) -> None:
    secrets = await company_with_data(world)
    bob = world.pd.add_user(world.anna.company_id, "Bob Sales", "bob@acme.test")
    page = await world.client.get("/settings", params={"token": world.token(bob)})
    assert page.status_code == 403
    assert 'data-reason="install_required"' in page.text
    assert 'href="/install"' in page.text and "Install WaPipe" in page.text
    assert '<script src="/static/vendor/app-extensions-sdk.umd.js">' in page.text  # Pipedrive sizes the frame
    shows_nothing_of(page, secrets)
    await parts_refuse(world, bob, "install_required")


async def test_a_user_who_uninstalled_sees_only_how_to_install_again(world: PanelWorld) -> None:
    secrets = await company_with_data(world)
    nick = world.pd.add_user(world.anna.company_id, "Nick Member", "nick@acme.test")
    await world.install(nick)
    assert "Anna Admin" in (await world.client.get("/settings", params={"token": world.token(nick)})).text
    await world.uninstall_in_pipedrive(nick)
    page = await world.client.get("/settings", params={"token": world.token(nick)})
    assert page.status_code == 403 and 'data-reason="install_required"' in page.text
    shows_nothing_of(page, [*secrets, "Nick Member", "nick@acme.test"])
    await parts_refuse(world, nick, "install_required")


async def test_in_a_company_nobody_installed_an_admin_is_asked_to_install(world: PanelWorld) -> None:
    secrets = await company_with_data(world)
    await world.uninstall_in_pipedrive(world.anna)  # the company's last installation: its grace period
    page = await world.client.get("/settings", params={"token": world.token()})
    assert page.status_code == 403 and 'data-reason="company_not_installed"' in page.text
    assert "admin" in page.text and 'href="/install"' in page.text
    shows_nothing_of(page, secrets)
    await parts_refuse(world, world.anna, "company_not_installed")


async def test_an_installed_user_still_sees_the_whole_page(world: PanelWorld) -> None:
    secrets = await company_with_data(world)
    page = await world.client.get("/settings", params={"token": world.token()})
    assert page.status_code == 200
    assert [secret for secret in secrets if secret not in page.text] == []  # the control: all of it is here
