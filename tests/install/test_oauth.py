"""Installing through the Pipedrive sandbox: our install URL, the Marketplace path, denials, bad states."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import itsdangerous.timed as timed

from sandbox.pipedrive.oauth import oauth_server_for
from server.pipedrive.oauth import StateSigner
from tests.install.world import InstallWorld
from tests.world import CLIENT_ID, SANDBOX


async def test_install_from_our_link_stores_an_encrypted_installation_and_sets_the_company_up(
    world: InstallWorld,
) -> None:
    answer = await world.install(world.admin)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/installed?ticket=")

    company = await world.wapipe_company()
    assert (company["name"], company["api_domain"], company["timezone"]) == (
        "Acme Sales GmbH",
        SANDBOX,
        "Europe/Berlin",
    )
    [row] = await world.installations()
    assert (row["pipedrive_user_id"], row["is_admin"], row["status"]) == (world.admin.id, True, "active")
    assert (row["name"], row["email"]) == ("Anna Admin", "anna@acme.test")
    grant = world.state.grants[-1]
    assert grant.access_token not in row["access_token_encrypted"]
    assert grant.refresh_token not in row["refresh_token_encrypted"]
    assert row["access_token_encrypted"].startswith("gAAAAA")  # a Fernet token
    assert "admin" in row["scopes"].split(",")

    data = world.state.company_data(world.company.id)
    [chat_type] = [t for t in data.activity_types.values() if t["name"] == "WhatsApp chat"]
    assert (chat_type["icon_key"], chat_type["color"], chat_type["active_flag"]) == ("bubble", "25D366", True)
    [person_field] = [f for f in data.person_fields.values() if f["name"] == "WhatsApp chat link"]
    [deal_field] = [f for f in data.deal_fields.values() if f["name"] == "WhatsApp chat link"]
    assert person_field["field_type"] == deal_field["field_type"] == "varchar"
    [settings] = await world.company_settings()
    assert settings["company_id"] == company["id"]
    assert settings["activity_type_key"] == chat_type["key_string"]
    assert settings["person_link_field_key"] == person_field["key"]
    assert settings["deal_link_field_key"] == deal_field["key"]
    assert (settings["import_frequency"], settings["new_chat_action"]) == ("realtime", "nothing")

    page = await world.client.get(answer.headers["location"])
    assert page.status_code == 200
    assert "WaPipe is installed for Acme Sales GmbH" in page.text
    assert 'data-setup="complete"' in page.text
    assert f"{SANDBOX}/host/settings?client_id={CLIENT_ID}" in page.text


async def test_reinstalling_creates_nothing_twice_and_keeps_one_installation(world: InstallWorld) -> None:
    await world.install(world.admin)
    [first] = await world.installations()
    assert (await world.install(world.admin)).status_code == 303
    assert (await world.install(world.admin, marketplace=True)).status_code == 303
    [again] = await world.installations()
    assert again["id"] == first["id"]
    assert again["access_token_encrypted"] != first["access_token_encrypted"]
    data = world.state.company_data(world.company.id)
    assert sum(t["name"] == "WhatsApp chat" for t in data.activity_types.values()) == 1
    assert sum(f["name"] == "WhatsApp chat link" for f in data.person_fields.values()) == 1
    assert sum(f["name"] == "WhatsApp chat link" for f in data.deal_fields.values()) == 1
    assert len(await world.company_settings()) == 1


async def test_setup_finds_existing_items_and_reactivates_a_deactivated_type(world: InstallWorld) -> None:
    await world.install(world.admin)
    data = world.state.company_data(world.company.id)
    [chat_type] = [t for t in data.activity_types.values() if t["name"] == "WhatsApp chat"]
    chat_type["active_flag"] = False  # an admin deactivated it in Pipedrive
    await world.install(world.second_admin)
    assert chat_type["active_flag"] is True
    assert sum(t["name"] == "WhatsApp chat" for t in data.activity_types.values()) == 1


async def test_marketplace_install_without_state_is_accepted(world: InstallWorld) -> None:
    answer = await world.install(world.admin, marketplace=True)
    assert answer.status_code == 303
    assert len(await world.installations()) == 1


async def test_a_forged_state_is_refused_and_stores_nothing(world: InstallWorld) -> None:
    forged = StateSigner("someone-elses-secret").issue()
    callback = await world.authorize(world.admin, state=forged)
    bad = await world.client.get(callback)
    assert bad.status_code == 400
    assert 'data-reason="invalid_state"' in bad.text
    assert 'href="/install"' in bad.text
    empty = await world.client.get("/oauth/callback", params={"state": "", "code": "x"})
    assert 'data-reason="invalid_state"' in empty.text
    assert await world.installations() == []


async def test_an_expired_state_names_the_reason(world: InstallWorld) -> None:
    secret = world.resources.settings.secret_key.get_secret_value()
    signer = StateSigner(secret)
    original = timed.TimestampSigner.get_timestamp
    timed.TimestampSigner.get_timestamp = lambda self: int(original(self)) - 3600  # type: ignore[method-assign]
    try:
        stale = signer.issue()
    finally:
        timed.TimestampSigner.get_timestamp = original  # type: ignore[method-assign]
    callback = await world.authorize(world.admin, state=stale)
    answer = await world.client.get(callback)
    assert answer.status_code == 400
    assert 'data-reason="expired_state"' in answer.text
    assert await world.installations() == []


async def test_denying_shows_a_friendly_page(world: InstallWorld) -> None:
    answer = await world.install(world.admin, decision="deny")
    assert answer.status_code == 200
    assert 'data-reason="user_denied"' in answer.text
    assert "WaPipe was not installed" in answer.text
    assert await world.installations() == []


async def test_a_used_code_and_a_missing_code_are_named(world: InstallWorld) -> None:
    callback = await world.authorize(world.admin, state=None)
    assert (await world.client.get(callback)).status_code == 303
    await world.settle()
    replay = await world.client.get(callback)
    assert replay.status_code == 400
    assert 'data-reason="invalid_code"' in replay.text
    missing = await world.client.get("/oauth/callback")
    assert missing.status_code == 400
    assert 'data-reason="missing_code"' in missing.text
    other = await world.client.get("/oauth/callback", params={"error": "access_denied"})
    assert 'data-reason="oauth_error"' in other.text


async def test_a_non_admin_first_is_told_an_admin_must_install(world: InstallWorld) -> None:
    answer = await world.install(world.agent)
    assert answer.status_code == 200
    assert 'data-reason="admin_required"' in answer.text
    assert "An admin must install" in answer.text
    [row] = await world.installations()
    assert (row["pipedrive_user_id"], row["is_admin"], row["status"]) == (world.agent.id, False, "active")
    data = world.state.company_data(world.company.id)
    assert not any(t["name"] == "WhatsApp chat" for t in data.activity_types.values())

    await world.install(world.admin)
    later = await world.install(world.agent)
    assert later.status_code == 303  # an admin has installed: straight through
    page = await world.client.get(later.headers["location"])
    assert "Signed in to Pipedrive as Bernd Agent" in page.text
    assert "data-setup" not in page.text


async def test_install_redirects_to_the_authorize_page_with_a_signed_state(world: InstallWorld) -> None:
    start = await world.client.get("/install")
    query = parse_qs(urlparse(start.headers["location"]).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["redirect_uri"] == ["http://wapipe.test/oauth/callback"]
    secret = world.resources.settings.secret_key.get_secret_value()
    assert StateSigner(secret).verify(query["state"][0]) == {}
    assert oauth_server_for(world.state).codes == {}


async def test_the_installed_page_needs_a_valid_ticket(world: InstallWorld) -> None:
    answer = await world.client.get("/installed", params={"ticket": "forged"})
    assert answer.status_code == 400
    assert 'data-reason="invalid_ticket"' in answer.text
    fragment = await world.client.get("/installed/setup")
    assert fragment.status_code == 400


async def test_each_installation_keeps_the_language_its_user_reads_pipedrive_in(world: InstallWorld) -> None:
    world.admin.locale = "ja_JP"
    await world.install(world.admin)
    await world.install(world.second_admin)  # en_US, the sandbox's default
    languages = {row["pipedrive_user_id"]: row["language"] for row in await world.installations()}
    assert languages == {world.admin.id: "ja", world.second_admin.id: "en"}

    world.admin.locale = "de_DE"  # they changed their language in Pipedrive and installed again
    await world.install(world.admin)
    languages = {row["pipedrive_user_id"]: row["language"] for row in await world.installations()}
    assert languages[world.admin.id] == "de"  # kept as Pipedrive says; pages fall back to the browser's
