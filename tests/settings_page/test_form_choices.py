"""Choices on the settings form that outlive a change of mind: the pipeline for new deals survives a
detour through "Create a lead", and every bad excluded number is named at once."""

from __future__ import annotations

from server.storage.sync import SqlSyncStore
from tests.panel.world import PanelWorld
from tests.settings_page.test_settings_page import company_id, pipeline_ids, save


async def test_the_pipeline_survives_a_switch_to_lead_and_back(world: PanelWorld) -> None:
    chosen = pipeline_ids(world)[-1]
    lead = await world.client.get(
        "/settings/pipeline",
        params={"new_chat_action": "lead", "pipeline_id": str(chosen)},
        headers=world.headers(),
    )
    assert lead.status_code == 200
    assert f'<input type="hidden" id="pipeline-kept" name="pipeline_id" value="{chosen}">' in lead.text
    assert "<select" not in lead.text
    deal = await world.client.get(
        "/settings/pipeline",
        params={"new_chat_action": "deal", "pipeline_id": str(chosen)},
        headers=world.headers(),
    )
    assert f'<option value="{chosen}" selected>' in deal.text

    # Saved with "Create a lead", the pipeline is kept for when deals are chosen again.
    assert (await save(world, new_chat_action="lead", pipeline_id=str(chosen))).status_code == 200
    settings = await SqlSyncStore(world.resources.engine).settings(await company_id(world))
    assert settings.new_chat_action.value == "lead" and settings.pipeline_id == chosen
    page = await world.client.get("/settings", params={"token": world.token()})
    assert f'id="pipeline-kept" name="pipeline_id" value="{chosen}"' in page.text


async def test_every_bad_excluded_number_is_named(world: PanelWorld) -> None:
    answer = await save(world, excluded_numbers="+49 176 55501234\n0176 5550 9999\n+1 23\nabc")
    assert answer.status_code == 400
    assert "3 lines need a change; each is named below" in answer.text
    assert '<li data-reason="excluded_number_needs_country_code">Line 2: 0176 5550 9999 has no' in answer.text
    invalid = '<li data-reason="excluded_number_invalid">'
    assert f"{invalid}Line 3: +1 23 is not a valid phone number" in answer.text
    assert f"{invalid}Line 4: abc holds “a”" in answer.text
