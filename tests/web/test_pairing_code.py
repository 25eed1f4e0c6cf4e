"""Linking a number by a code typed on the phone ("Link with phone number instead") on the numbers page,
through the WAHA sandbox: the code WhatsApp gave is shown, the phone types it, the page sees the number
linked; bad numbers and the wrong people are refused by name."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable

import pytest

from sandbox.waha import sessions
from server.settings import Settings
from tests.web.inbound_world import InboundWorld, inbound_world
from tests.web.test_numbers import USER, token

PHONE = "4917612345678"


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[tuple[InboundWorld, Settings]]:
    settings = make_settings(public_url="http://wapipe.test")
    async with inbound_world(settings) as world:
        await world.install_users(USER, 777, admin=USER)
        yield world, settings


async def start(w: InboundWorld, settings: Settings) -> tuple[int, str]:
    started = await w.client.post("/numbers", headers={"X-Pipedrive-Token": token(settings)})
    assert started.status_code == 200, started.text
    account_id = int(re.search(r'data-account-id="(\d+)"', started.text).group(1))  # type: ignore[union-attr]
    await w.waha.elapse(2)  # the session starts and waits to be linked
    session = next(name for name in w.waha.sessions if name.startswith("wapipe-c"))
    return account_id, session


async def test_a_code_typed_on_the_phone_links_the_number(world: tuple[InboundWorld, Settings]) -> None:
    w, settings = world
    mine = {"X-Pipedrive-Token": token(settings)}
    account_id, session = await start(w, settings)

    waiting = await w.client.get(f"/numbers/{account_id}/pairing", headers=mine)
    assert 'id="pairing-phone-form"' in waiting.text  # offered beside the QR code
    assert f'hx-post="/numbers/{account_id}/pairing-code"' in waiting.text
    qr_part = await w.client.get(f"/numbers/{account_id}/pairing", params={"part": "qr"}, headers=mine)
    assert qr_part.text.lstrip().startswith('<div id="pairing-qr"')  # the poll leaves the typed number alone
    assert "pairing-phone-form" not in qr_part.text

    asked = await w.client.post(
        f"/numbers/{account_id}/pairing-code", data={"phone": "+49 176 1234 5678"}, headers=mine
    )
    assert asked.status_code == 200, asked.text
    pairing = w.waha.session(session).pairing
    assert pairing is not None and pairing[0] == PHONE  # WAHA was asked for the number typed
    shown = re.search(r'id="pairing-code" class="pairing-code">([^<]+)<', asked.text)
    assert shown is not None and shown.group(1) == pairing[1]
    assert f"+{PHONE}" in asked.text
    assert "Link with phone number instead" in asked.text
    assert f'hx-get="/numbers/{account_id}/pairing?part=status"' in asked.text

    still = await w.client.get(f"/numbers/{account_id}/pairing", params={"part": "status"}, headers=mine)
    assert still.text.lstrip().startswith('<p id="pairing-status"')
    assert "Waiting for the code to be typed on the phone" in still.text
    assert "hx-retarget" not in still.headers

    sessions.enter_code(w.waha, w.waha.session(session), pairing[1].lower().replace("-", ""))
    done = await w.client.get(f"/numbers/{account_id}/pairing", params={"part": "status"}, headers=mine)
    assert done.headers["hx-retarget"] == "#pairing" and done.headers["hx-reswap"] == "outerHTML"
    assert done.headers["hx-trigger"] == "numbers-changed"
    assert f"Linked +{PHONE}" in done.text
    listing = await w.client.get("/numbers/list", headers=mine)
    assert f"+{PHONE}" in listing.text and "Connected" in listing.text

    again = await w.client.post(
        f"/numbers/{account_id}/pairing-code", data={"phone": f"+{PHONE}"}, headers=mine
    )
    assert again.status_code == 400 and 'data-reason="not_pairing"' in again.text


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("0176 12345678", "without its country code"),
        ("+49", "too short"),
        ("call me", "no number"),
        ("", "nothing typed"),
    ],
)
async def test_a_number_that_is_no_international_phone_is_refused_and_kept(
    world: tuple[InboundWorld, Settings], typed: str, why: str
) -> None:
    w, settings = world
    mine = {"X-Pipedrive-Token": token(settings)}
    account_id, session = await start(w, settings)
    refused = await w.client.post(f"/numbers/{account_id}/pairing-code", data={"phone": typed}, headers=mine)
    assert refused.status_code == 400, why
    assert 'data-reason="invalid_phone"' in refused.text, why
    assert f'value="{typed}"' in refused.text, why  # kept to correct
    assert '<details class="pairing-by-phone" open>' in refused.text, why
    assert 'id="pairing-qr"' in refused.text, why  # the QR code can still be scanned
    assert w.waha.session(session).pairing is None, why  # WhatsApp was not asked


async def test_only_the_person_linking_asks_for_a_code_and_other_companies_reach_nothing(
    world: tuple[InboundWorld, Settings],
) -> None:
    w, settings = world
    account_id, session = await start(w, settings)
    colleague = {"X-Pipedrive-Token": token(settings, user=777)}
    refused = await w.client.post(
        f"/numbers/{account_id}/pairing-code", data={"phone": f"+{PHONE}"}, headers=colleague
    )
    assert refused.status_code == 403 and 'data-reason="forbidden"' in refused.text
    stranger = {"X-Pipedrive-Token": token(settings, company=4242)}
    refused = await w.client.post(
        f"/numbers/{account_id}/pairing-code", data={"phone": f"+{PHONE}"}, headers=stranger
    )
    assert refused.status_code == 403 and 'data-reason="company_not_installed"' in refused.text
    missing = await w.client.post(
        f"/numbers/{account_id + 1}/pairing-code",
        data={"phone": f"+{PHONE}"},
        headers={"X-Pipedrive-Token": token(settings)},
    )
    assert missing.status_code == 404
    assert w.waha.session(session).pairing is None


async def test_a_part_the_page_does_not_have_is_refused_by_name(world: tuple[InboundWorld, Settings]) -> None:
    w, settings = world
    account_id, _ = await start(w, settings)
    answer = await w.client.get(
        f"/numbers/{account_id}/pairing",
        params={"part": "<script>"},
        headers={"X-Pipedrive-Token": token(settings)},
    )
    assert answer.status_code == 400 and 'data-reason="invalid_part"' in answer.text
    assert "<script>" not in answer.text
