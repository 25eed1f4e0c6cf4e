"""End to end with both sandboxes: set-up subscribes Person changes, a user merges the Person a chat is
linked to in Pipedrive, Pipedrive's own delivery reaches WaPipe's webhook, and the chat's next message is
logged on the surviving Person, never on the merged one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from sandbox.pipedrive.seed import seed_person
from sandbox.pipedrive.webhooks import webhooks_for
from server.settings import Settings
from server.storage.tables import Chat, InboundEvent
from server.storage.tables_sync import SyncChatLink
from tests.panel.world import PanelWorld, panel_world
from tests.world import world_settings_overrides

MARIA_WRITES_FROM = "4917655501234"  # Maria Kunde's first phone, +49 176 55501234
SESSION = "wp-acme-anna"


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    async with panel_world(make_settings(**world_settings_overrides())) as world:
        assert world.pd is not None
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app)) as to_wapipe:
            webhooks_for(world.pd).http = to_wapipe  # Pipedrive's deliveries reach this WaPipe
            yield world


async def marias_link(world: PanelWorld) -> dict[str, object]:
    [chat] = [c for c in await world.rows(Chat) if c["chat_key"].startswith(MARIA_WRITES_FROM + "@")]
    [link] = [link for link in await world.rows(SyncChatLink) if link["chat_id"] == chat["id"]]
    return link


async def activities_of(world: PanelWorld, person_id: int) -> list[dict[str, object]]:
    assert world.pd is not None
    return [
        a
        for a in world.pd.company_data(world.anna.company_id).activities.values()
        if a["person_id"] == person_id
    ]


async def test_a_merge_in_pipedrive_moves_the_chat_to_the_surviving_person(world: PanelWorld) -> None:
    assert world.pd is not None and world.waha is not None and world.sandbox is not None
    [hook] = [h for h in world.pd.company_data(world.anna.company_id).webhooks.values()]
    assert (hook["event_object"], hook["event_action"]) == ("person", "*")

    maria = world.persons["maria"]
    survivor = seed_person(world.pd, world.anna.company_id, "Maria Kunde (CRM)", phones=["+49 30 1234567"])[
        "id"
    ]
    world.waha.receive(SESSION, MARIA_WRITES_FROM, "Guten Tag, hier ist Maria")
    await world.settle()
    assert (await marias_link(world))["person_id"] == maria

    merged = await world.sandbox.post(
        f"/_sandbox/companies/{world.anna.company_id}/persons/{maria}/merge", json={"merge_with_id": survivor}
    )
    assert merged.status_code == 200, merged.text
    await webhooks_for(world.pd).settle()
    await world.settle()

    delivered = [d for d in webhooks_for(world.pd).log if d.payload()["meta"].get("merged_to_id")]
    assert delivered and all(d.status == 200 for d in delivered)
    stored = [e for e in await world.rows(InboundEvent) if e["transport"] == "pipedrive"]
    assert stored and all(e["state"] == "processed" for e in stored)
    assert (await marias_link(world))["person_id"] == survivor

    world.waha.receive(SESSION, MARIA_WRITES_FROM, "Noch eine Frage zum Angebot")
    await world.settle()
    [activity] = await activities_of(world, survivor)  # Pipedrive moved the day's activity; one, updated
    assert "Noch eine Frage zum Angebot" in str(activity["note"])
    assert await activities_of(world, maria) == []
