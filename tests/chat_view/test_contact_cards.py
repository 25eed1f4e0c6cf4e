"""A shared contact card in the panel and the chat view: "Open <Person>" for a number a Person of the
company has, "Create Person" for one nobody has, nothing for text that is no number; the create
endpoints' checks (Pipedrive's token, the CSRF token, named bad input) and that a double click or a retry
after Pipedrive failed makes one Person.

Maria (a Person of Anna's company) shares a card whose three numbers are: Lokal Lisa's (stored in
Pipedrive as "0176 5550 9999", written on the card as +49 176 55509999), one nobody has, and "call me".
"""

from __future__ import annotations

from typing import Any

import httpx

from server.storage.tables import Message
from tests.chat_view.test_chat_view import browser, chat_id_of, csrf, sign_in
from tests.panel.world import PanelWorld
from tests.world import SANDBOX

SESSION = "wp-acme-anna"
MARIA = "4917655501234"
NAME = 'Jo "<b>Bold</b>"'
NAME_SHOWN = "Jo &#34;&lt;b&gt;Bold&lt;/b&gt;&#34;"
VCARD = (
    "BEGIN:VCARD\nVERSION:3.0\n"
    f"FN:{NAME}\n"
    "TEL;type=CELL:+49 176 55509999\n"
    "TEL;type=CELL:+49 170 1234567\n"
    "TEL;type=HOME:call me\n"
    "END:VCARD"
)


async def card_message(world: PanelWorld) -> int:
    assert world.waha is not None
    world.waha.receive(SESSION, MARIA, kind="contact", content={"vcards": [VCARD]}, push_name="Maria")
    await world.settle()
    [found] = [m for m in await world.rows(Message) if m["details"]]
    return int(found["id"])


def persons_named(world: PanelWorld, name: str) -> list[dict[str, Any]]:
    assert world.pd is not None
    persons = world.pd.company_data(world.anna.company_id).persons.values()
    return [p for p in persons if p["name"] == name and not p.get("is_deleted")]


def phones_of(person: dict[str, Any]) -> list[str]:
    return [phone["value"] for phone in person["phones"]]


async def panel(world: PanelWorld) -> str:
    params = {"resource": "person", "selectedIds": world.persons["maria"], "token": world.token()}
    page = await world.client.get("/panel", params=params)
    assert page.status_code == 200
    return page.text


async def create_in_panel(world: PanelWorld, form: dict[str, str], **headers: str) -> httpx.Response:
    return await world.client.post("/panel/contacts/person", data=form, headers=headers or world.headers())


def numbers_of(html: str) -> list[tuple[str, str]]:
    """(number as shown, what it offers) for each number of the first card, in order."""
    card = html.split('<div class="contact-card"', 1)[1].split("</ul>", 1)[0]
    shown = []
    for item in card.split('<li class="card-number"')[1:]:
        number = item.split('<span class="card-phone" dir="ltr">', 1)[1].split("</span>", 1)[0]
        if "Create Person</button>" in item:
            offer = "create"
        elif "data-open-person=" in item:
            offer = item.split('data-open-person="', 1)[1].split('">', 1)[1].split("</a>", 1)[0]
        else:
            offer = item.split('<span class="muted">', 1)[1].split("</span>", 1)[0]
        shown.append((number, offer))
    return shown


async def test_the_panel_offers_open_create_or_nothing_for_each_number(world: PanelWorld) -> None:
    message_id = await card_message(world)
    page = await panel(world)
    assert f'<p class="card-name">{NAME_SHOWN}</p>' in page and "<b>Bold</b>" not in page
    assert numbers_of(page) == [
        ("+49 176 55509999", "Open Lokal Lisa"),
        ("+49 170 1234567", "create"),
        ("call me", "(not a phone number)"),
    ]
    lisa = world.persons["local"]
    assert f'href="{SANDBOX}/person/{lisa}" target="_blank"' in page
    assert f'data-open-person="{lisa}"' in page
    assert f'<input type="hidden" name="message_id" value="{message_id}">' in page
    assert 'hx-post="/panel/contacts/person"' in page and 'name="csrf_token"' not in page


async def test_creating_from_the_panel_needs_pipedrives_token_and_names_bad_input(world: PanelWorld) -> None:
    message_id = await card_message(world)
    form = {"message_id": str(message_id), "card": "0", "number": "1"}
    refused = await world.client.post("/panel/contacts/person", data=form)
    assert refused.status_code == 401 and 'data-reason="token_missing"' in refused.text
    foreign = await create_in_panel(world, form, **world.headers(world.grace))
    assert foreign.status_code == 404 and 'data-reason="card_not_found"' in foreign.text
    cases = [
        ({**form, "number": "2"}, 400, "card_number_unreadable"),
        ({**form, "number": "3"}, 400, "card_number_missing"),
        ({**form, "number": "one"}, 400, "card_number_missing"),
        ({**form, "card": "1"}, 400, "card_not_found"),
        ({**form, "message_id": "x"}, 400, "card_not_found"),
        ({**form, "message_id": str(message_id + 1000)}, 404, "card_not_found"),
    ]
    for bad, status, reason in cases:
        answer = await create_in_panel(world, bad)
        assert (answer.status_code, f'data-reason="{reason}"' in answer.text) == (status, True), bad
    unreadable = (await create_in_panel(world, cases[0][0])).text
    assert (
        "<strong>Not a phone number</strong>" in unreadable and "call me is not a phone number" in unreadable
    )
    assert persons_named(world, NAME) == []


async def test_create_makes_one_person_with_the_cards_name_and_free_number(world: PanelWorld) -> None:
    message_id = await card_message(world)
    form = {"message_id": str(message_id), "card": "0", "number": "1"}
    first = await create_in_panel(world, form)
    assert first.status_code == 200, first.text
    [person] = persons_named(world, NAME)
    assert phones_of(person) == ["+491701234567"]  # Lisa's number stays hers; "call me" is no number
    assert person["owner_id"] == world.anna.id  # the WhatsApp number's owner, as the sync's new Persons
    assert numbers_of(first.text) == [
        ("+49 176 55509999", "Open Lokal Lisa"),
        ("+49 170 1234567", f"Open {NAME_SHOWN}"),
        ("call me", "(not a phone number)"),
    ]
    assert f'data-open-person="{person["id"]}"' in first.text
    again = await create_in_panel(world, form)  # a double click, or the same request again
    assert again.status_code == 200 and len(persons_named(world, NAME)) == 1
    assert f'data-open-person="{person["id"]}"' in again.text
    assert numbers_of(await panel(world))[1] == ("+49 170 1234567", f"Open {NAME_SHOWN}")


async def test_when_pipedrive_fails_nothing_is_created_and_the_retry_creates_once(world: PanelWorld) -> None:
    assert world.pd is not None
    message_id = await card_message(world)
    form = {"message_id": str(message_id), "card": "0", "number": "1"}
    world.pd.limiter.faults.force_5xx = 20
    failed = await create_in_panel(world, form)
    world.pd.limiter.faults.force_5xx = 0
    assert failed.status_code == 503 and "<strong>Pipedrive could not be reached</strong>" in failed.text
    assert '<div class="notice error" role="alert" data-reason="pipedrive_unavailable">' in failed.text
    assert "Create Person</button>" in failed.text and persons_named(world, NAME) == []
    retried = await create_in_panel(world, form)
    assert retried.status_code == 200 and len(persons_named(world, NAME)) == 1


async def test_the_chat_view_links_to_pipedrive_and_creates_with_its_csrf_token(world: PanelWorld) -> None:
    message_id = await card_message(world)
    chat_id = await chat_id_of(world, "+" + MARIA)
    url = f"/chats/{chat_id}/contacts/person"
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
        assert f'hx-get="/chats/{chat_id}/contacts/{message_id}" hx-trigger="load"' in page.text
        token, _ = csrf(page.text)
        cards = await client.get(f"/chats/{chat_id}/contacts/{message_id}")
        assert cards.status_code == 200 and NAME_SHOWN in cards.text and "<b>Bold" not in cards.text
        lisa = world.persons["local"]
        assert f'<a class="open-person" href="{SANDBOX}/person/{lisa}"' in cards.text
        assert f'hx-post="{url}"' in cards.text and f'name="csrf_token" value="{token}"' in cards.text
        form = {"message_id": str(message_id), "card": "0", "number": "1"}
        missing = await client.post(url, data=form)
        assert missing.status_code == 403 and 'data-reason="csrf_missing"' in missing.text
        forged = await client.post(url, data={**form, "csrf_token": token + "x"})
        assert forged.status_code == 403 and persons_named(world, NAME) == []
        bad = await client.post(url, data={**form, "number": "2", "csrf_token": token})
        assert bad.status_code == 400 and 'data-reason="card_number_unreadable"' in bad.text
        made = await client.post(url, data={**form, "csrf_token": token})
        again = await client.post(url, data={**form, "csrf_token": token})
        other = await client.get(f"/chats/{chat_id}/contacts/{message_id + 1000}")
    assert made.status_code == 200 and again.status_code == 200
    [person] = persons_named(world, NAME)
    assert f'<a class="open-person" href="{SANDBOX}/person/{person["id"]}"' in made.text
    assert f'href="{SANDBOX}/person/{person["id"]}"' in again.text
    assert other.status_code == 404 and 'data-reason="card_not_found"' in other.text


async def test_without_a_session_or_from_another_company_nothing_loads_or_is_made(world: PanelWorld) -> None:
    message_id = await card_message(world)
    chat_id = await chat_id_of(world, "+" + MARIA)
    cards_url, create_url = f"/chats/{chat_id}/contacts/{message_id}", f"/chats/{chat_id}/contacts/person"
    form = {"message_id": str(message_id), "card": "0", "number": "1"}
    async with browser(world) as client:
        assert (await client.get(cards_url)).status_code == 401
        assert (await client.post(create_url, data=form)).status_code == 401
    async with browser(world) as client:
        page = await sign_in(world, client, world.grace, chat_id)
        assert page.status_code == 403
        cards = await client.get(cards_url)
        made = await client.post(create_url, data=form)
    assert (
        cards.status_code == 403 and 'data-reason="forbidden"' in cards.text and NAME_SHOWN not in cards.text
    )
    assert made.status_code == 403 and 'data-reason="forbidden"' in made.text
    assert persons_named(world, NAME) == []
