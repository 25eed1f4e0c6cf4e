"""The connector: clients for a company's sync and a user's panel; refreshes stored; dead grants marked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from server.domain.errors import NeedsReauth, NotInstalled
from server.domain.installations import InstallationStatus
from tests.install.world import InstallWorld
from tests.world import CLIENT_ID


async def _company_id(world: InstallWorld) -> int:
    return int((await world.wapipe_company())["id"])


async def _expire_stored_tokens(world: InstallWorld, installation_id: int) -> None:
    store = world.resources.pipedrive.installations
    stored = await store.tokens(installation_id)
    assert stored is not None
    await store.save_tokens(
        installation_id, replace(stored, expires_at=datetime.now(UTC) - timedelta(minutes=1))
    )


async def test_an_expiring_token_is_refreshed_and_the_new_one_stored_encrypted(world: InstallWorld) -> None:
    await world.install(world.admin)
    [row] = await world.installations()
    await _expire_stored_tokens(world, row["id"])
    before = await world.resources.pipedrive.installations.tokens(row["id"])
    client = await world.resources.pipedrive.connector.for_company(await _company_id(world))
    assert (await client.users.me()).id == world.admin.id
    after = await world.resources.pipedrive.installations.tokens(row["id"])
    assert before is not None and after is not None
    assert after.access_token != before.access_token
    assert after.expires_at > datetime.now(UTC) + timedelta(minutes=30)
    [stored] = await world.installations()
    assert after.access_token not in stored["access_token_encrypted"]


async def test_a_revoked_grant_marks_the_installation_needs_reauth_on_refresh(world: InstallWorld) -> None:
    await world.install(world.admin)
    [row] = await world.installations()
    world.state.revoke_user(CLIENT_ID, world.company.id, world.admin.id)  # revoked without telling us
    await _expire_stored_tokens(world, row["id"])
    company_id = await _company_id(world)
    client = await world.resources.pipedrive.connector.for_company(company_id)
    with pytest.raises(NeedsReauth):
        await client.users.me()
    installation = await world.resources.pipedrive.installations.get(company_id, world.admin.id)
    assert installation is not None
    assert installation.status is InstallationStatus.NEEDS_REAUTH
    assert "reinstall" in installation.status_detail
    with pytest.raises(NeedsReauth):
        await world.resources.pipedrive.connector.for_company(company_id)
    with pytest.raises(NeedsReauth):
        await world.resources.pipedrive.connector.for_user(company_id, world.admin.id)

    await world.install(world.admin)  # re-authorising fixes it
    client = await world.resources.pipedrive.connector.for_company(company_id)
    assert (await client.users.me()).id == world.admin.id


async def test_a_rejected_access_token_with_a_dead_refresh_token_needs_reauth(world: InstallWorld) -> None:
    await world.install(world.admin)
    world.state.revoke_user(CLIENT_ID, world.company.id, world.admin.id)
    company_id = await _company_id(world)
    client = await world.resources.pipedrive.connector.for_company(company_id)
    with pytest.raises(NeedsReauth):
        await client.users.me()  # 401, then the refresh is refused
    installation = await world.resources.pipedrive.installations.get(company_id, world.admin.id)
    assert installation is not None and installation.status is InstallationStatus.NEEDS_REAUTH


async def test_nobody_installed_and_only_agents_installed_are_not_installed(world: InstallWorld) -> None:
    connector = world.resources.pipedrive.connector
    with pytest.raises(NotInstalled) as nothing:
        await connector.for_company(12345)
    assert nothing.value.reason == "not_installed"
    await world.install(world.agent)
    company_id = await _company_id(world)
    with pytest.raises(NotInstalled):
        await connector.for_company(company_id)
    with pytest.raises(NotInstalled):
        await connector.for_user(company_id, world.admin.id)
    assert (await (await connector.for_user(company_id, world.agent.id)).users.me()).id == world.agent.id


async def test_reprs_never_show_tokens(world: InstallWorld) -> None:
    await world.install(world.admin)
    [row] = await world.installations()
    stored = await world.resources.pipedrive.installations.tokens(row["id"])
    assert stored is not None
    grant = world.state.grants[-1]
    for thing in (stored, world.resources.pipedrive, world.resources.pipedrive.connector):
        assert grant.access_token not in repr(thing)
        assert grant.refresh_token not in repr(thing)
    client = await world.resources.pipedrive.connector.for_company(row["company_id"])
    assert grant.access_token not in repr(client.api)
