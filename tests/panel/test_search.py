"""Re-linking a chat and pinning a Deal by searching Pipedrive (the sandbox's ``persons/search`` and
``deals/search``): by name, by phone as written in either format, by a Deal's title; a chosen hit is what
is linked, and text that is no id asks the user to choose."""

from __future__ import annotations

import re

from tests.panel.test_panel import send_form
from tests.panel.world import PanelWorld


async def search(world: PanelWorld, what: str, term: str) -> str:
    answer = await world.client.get(
        "/panel/search", params={"what": what, what: term}, headers=world.headers()
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def hits(html: str) -> list[tuple[str, str, str]]:
    """(field, id, name) of each hit button."""
    return re.findall(r'<button type="submit" class="search-hit" name="(\w+)" value="(\d+)">([^<]*)', html)


async def test_persons_are_found_by_name_or_by_phone_in_either_format(world: PanelWorld) -> None:
    maria = str(world.persons["maria"])
    expected = [("person_id", maria, "Maria Kunde ")]
    assert hits(await search(world, "person", "maria")) == expected
    assert hits(await search(world, "person", "+49 176 55501234")) == expected
    assert hits(await search(world, "person", "0151 7777 1234")) == expected  # stored as written
    assert hits(await search(world, "person", "01765550 1234")) == expected  # stored in E.164
    assert "+49 176 55501234, 0151 7777 1234" in await search(world, "person", "Kunde")
    nobody = await search(world, "person", "Niemand")
    assert hits(nobody) == [] and "No Person found for “Niemand”." in nobody


async def test_deals_are_found_by_title(world: PanelWorld) -> None:
    found = await search(world, "deal", "ORDER")
    assert hits(found) == [("deal_id", str(world.deal_id), "Maria&#39;s order ")]
    assert "<small>Maria Kunde · open</small>" in found


async def test_a_term_too_short_is_not_sent_to_pipedrive(world: PanelWorld) -> None:
    usage = world.pd.limiter.usage_for(world.anna.company_id)
    before = usage.requests
    answer = await search(world, "person", " m ")
    assert "Type at least 2 letters or digits." in answer and hits(answer) == []
    assert (await search(world, "person", "")).strip() == ""
    assert world.pd.limiter.usage_for(world.anna.company_id).requests == before


async def test_search_needs_the_panel_token_and_stays_in_the_company(world: PanelWorld) -> None:
    assert (
        await world.client.get("/panel/search", params={"what": "person", "person": "Maria"})
    ).status_code == 401
    grace = await world.client.get(
        "/panel/search", params={"what": "person", "person": "Maria"}, headers=world.headers(world.grace)
    )
    assert grace.status_code == 200 and hits(grace.text) == []
    odd = await world.client.get(
        "/panel/search", params={"what": "lead", "lead": "x"}, headers=world.headers()
    )
    assert odd.status_code == 400 and 'data-reason="invalid_request"' in odd.text


async def test_the_chosen_hit_is_linked_and_typed_text_asks_to_choose(world: PanelWorld) -> None:
    await world.client.post("/panel/send", data=send_form(world), headers=world.headers())
    await world.settle()
    local = world.persons["local"]
    typed = await world.client.post(
        "/panel/relink", data={"chat_id": 1, "person": "Lokal"}, headers=world.headers()
    )
    assert typed.status_code == 400 and 'data-reason="invalid_person"' in typed.text
    assert "Choose a Person from the search results for “Lokal”, or type a Person id" in typed.text
    assert 'value="Lokal"' in typed.text  # what was typed stays
    chosen = await world.client.post(
        "/panel/relink", data={"chat_id": 1, "person": "Lokal", "person_id": local}, headers=world.headers()
    )
    assert chosen.status_code == 200 and f"now linked to Lokal Lisa (Person #{local})" in chosen.text
    by_id = await world.client.post(
        "/panel/pin", data={"chat_id": 1, "deal": world.deal_id}, headers=world.headers()
    )
    assert by_id.status_code == 200 and f"(Deal #{world.deal_id}) is pinned to this chat" in by_id.text
