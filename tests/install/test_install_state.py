"""Our install link's ``state`` is used once: a second callback with the same state (a replayed link,
with a fresh authorisation code) is refused by name and installs nothing."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from tests.install.world import InstallWorld


async def test_an_install_state_is_used_once(world: InstallWorld) -> None:
    start = await world.client.get("/install")
    state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
    first = await world.client.get(await world.authorize(world.admin, state=state))
    assert first.status_code == 303, first.text
    assert [row["pipedrive_user_id"] for row in await world.installations()] == [world.admin.id]

    replay = await world.client.get(await world.authorize(world.agent, state=state))
    assert replay.status_code == 400
    assert 'data-reason="state_replayed"' in replay.text and 'href="/install"' in replay.text
    assert [row["pipedrive_user_id"] for row in await world.installations()] == [world.admin.id]


async def test_every_install_link_gets_a_state_of_its_own(world: InstallWorld) -> None:
    assert (await world.install(world.admin)).status_code == 303
    assert (await world.install(world.agent)).status_code == 303
    assert (await world.install(world.admin)).status_code == 303  # installing again: a new link, a new state
    assert sorted(row["pipedrive_user_id"] for row in await world.installations()) == sorted(
        [world.admin.id, world.agent.id]
    )


async def test_marketplace_installs_carry_no_state_and_are_not_affected(world: InstallWorld) -> None:
    assert (await world.install(world.admin, marketplace=True)).status_code == 303
    assert (await world.install(world.agent, marketplace=True)).status_code == 303
