"""The matching preview in plain words: the Person, the phone as stored and how it matched, the other
candidates with theirs, and what a chat from an unknown number would create under the company's current
settings. Every expected sentence is written out by hand; names and phones are escaped."""

from __future__ import annotations

from sandbox.pipedrive.seed import seed_person, seed_pipeline
from tests.panel.world import PanelWorld
from tests.settings_page.test_settings_page import save

SESSION = "wp-acme-anna"


async def preview(world: PanelWorld, numbers: str) -> list[str]:
    world.clock.advance(2)  # Pipedrive's search rate window (10 per 2 s) passes between previews
    answer = await world.client.post("/settings/preview", data={"numbers": numbers}, headers=world.headers())
    assert answer.status_code == 200, answer.text
    return answer.text.split("<tr data-rule=")[1:]


async def refresh_index(world: PanelWorld) -> None:
    """A number no Person has writes in: the engine refreshes its phone index from Pipedrive."""
    world.waha.receive(SESSION, "4930555000111", "Hallo")
    await world.settle()


async def test_a_match_is_said_in_plain_words_with_the_other_candidates(world: PanelWorld) -> None:
    company = world.anna.company_id
    seed_person(world.pd, company, "Bia Brasil", phones=["+55 21 99876-5432"])
    seed_person(world.pd, company, "Velho <b>Vitor</b>", phones=["+55 21 9876-5432 <i>alt</i>"])
    await refresh_index(world)
    maria, brazil = await preview(world, "+49 176 55501234\n+55 21 99876-5432")
    assert "Matched +49 176 55501234 on Person Maria Kunde exactly" in maria
    assert "Other candidates" not in maria
    assert "Matched +55 21 99876-5432 on Person Bia Brasil exactly" in brazil
    assert (
        "Person Velho &lt;b&gt;Vitor&lt;/b&gt;: +55 21 9876-5432 &lt;i&gt;alt&lt;/i&gt; matches as a country "
        "variant (Brazilian mobile without its 9)"
    ) in brazil
    assert "<b>Vitor" not in brazil and "<i>alt" not in brazil


async def test_a_person_found_by_pipedrive_search_is_said_the_same_way(world: PanelWorld) -> None:
    await refresh_index(world)
    seed_person(world.pd, world.anna.company_id, "Neu Angelegt", phones=["+49 40 5550 1234"])
    [row] = await preview(world, "+49 40 55501234")
    assert row.startswith('"search_exact"'), row
    assert "Matched +49 40 5550 1234 on Person Neu Angelegt exactly" in row


async def test_an_unknown_number_says_what_the_current_settings_would_create(world: PanelWorld) -> None:
    await refresh_index(world)
    stranger = "+49 40 5550 1111"
    [row] = await preview(world, stranger)
    assert "No Person matches; a chat from this number would create a Person" in row
    assert "if on" not in row

    assert (await save(world, new_chat_action="lead")).status_code == 200
    [row] = await preview(world, stranger)
    assert "No Person matches; a chat from this number would create a Person and a Lead" in row

    pipeline = seed_pipeline(world.pd, world.anna.company_id, "Inbound <Nord>", ("Neu",))
    assert (await save(world, new_chat_action="deal", pipeline_id=str(pipeline))).status_code == 200
    [row] = await preview(world, stranger)
    assert (
        "No Person matches; a chat from this number would create a Person and a Deal in Inbound &lt;Nord&gt;"
    ) in row

    assert (
        await save(world, auto_add_persons=None, new_chat_action="deal", pipeline_id=str(pipeline))
    ).status_code == 200
    [row] = await preview(world, stranger)
    assert "No Person matches; a chat from this number would create nothing: auto-add is off" in row

    assert (await save(world, excluded_numbers="+494055501111")).status_code == 200
    [row] = await preview(world, stranger)
    assert "No Person matches; a chat from this number would create nothing: the number is excluded" in row


async def test_a_pipedrive_hit_is_read_in_the_companys_country_not_the_numbers(world: PanelWorld) -> None:
    """Searched in Pipedrive (not yet in the index), "0155 2345 6789" is a German mobile in this German
    company: it shares its last 10 digits with a Mexican number, and is still no match for it."""
    await refresh_index(world)
    seed_person(world.pd, world.anna.company_id, "Bundes Nummer", phones=["0155 2345 6789"])
    [row] = await preview(world, "+52 1 55 2345 6789")
    assert "Bundes Nummer" not in row
    assert "No Person matches" in row
