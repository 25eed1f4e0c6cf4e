"""An admin of an installed company finds the job runners by host and process on the settings page;
nobody else does (the public status page names them by kind only)."""

from __future__ import annotations

from datetime import UTC, datetime

from server.storage.heartbeats import SqlHeartbeatStore
from tests.panel.world import PanelWorld

HOST = "db-node-secret-7"


async def test_the_settings_page_shows_admins_each_runner_by_host_and_process(world: PanelWorld) -> None:
    heartbeats = SqlHeartbeatStore(world.resources.engine)
    await heartbeats.beat(f"worker:{HOST}:4242", datetime(2026, 3, 1, 12, 0, 1, tzinfo=UTC))
    admin = await world.client.get("/settings", params={"token": world.token()})
    assert admin.status_code == 200
    assert 'id="server-section"' in admin.text
    assert (
        f'<li data-runner="worker:{HOST}:4242">worker:{HOST}:4242, last seen 2026-03-01 12:00:01 UTC</li>'
        in admin.text
    )

    nick = world.pd.add_user(world.anna.company_id, "Nick Member", "nick@acme.test")
    await world.install(nick)
    member = await world.client.get("/settings", params={"token": world.token(nick)})
    assert member.status_code == 200 and "Anna Admin" in member.text  # the page itself, read-only
    assert 'id="server-section"' not in member.text and HOST not in member.text
