"""Locations, shared contacts, calls, polls, stickers, GIFs and view-once media end to end, on WAHA and on
the Cloud API, from the contact and from the salesperson's phone: ingest → the Pipedrive transcript line →
the panel bubble → the chat view row.

Expected markup is written out here: the map link is Google Maps' search URL with the coordinates only,
and everything the people typed (place names, contact names) arrives escaped.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from sandbox.waha.calls import ring
from sandbox.waha.polls import vote
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from tests.chat_view.test_chat_view import browser, chat_id_of, sign_in
from tests.panel.world import ANNA_NUMBER, PanelWorld, panel_world
from tests.settings_page.test_settings_page import save
from tests.whatsapp.cloud_standin import TOKEN as CLOUD_TOKEN
from tests.whatsapp.cloud_standin import CloudStandIn
from tests.world import world_settings_overrides

SESSION = "wp-acme-anna"
MARIA = "4917655501234"
PHONE_NUMBER_ID = "106540352242922"
CLOUD_NUMBER = "4930123456789"
APP_SECRET = "kinds-app-secret"
MAP = "https://www.google.com/maps/search/?api=1&amp;query=48.210033,16.363449"
VCARD = (
    "BEGIN:VCARD\nVERSION:3.0\nN:Muster;Max;;;\nFN:Max <Muster>\n"
    "TEL;type=CELL;waid=491701234567:+49 170 1234567\nEND:VCARD"
)

# (transcript line body, panel and chat view markup) for what each test shares
LOCATION_LINE = f'Location: <a href="{MAP}">Café &lt;Central&gt;, Herrengasse 14</a>'
LOCATION_ROW = (
    '<p class="kind location" data-kind="location"><span class="kind-label">Location:</span> '
    f'<a href="{MAP}" target="_blank" rel="noopener noreferrer">Café &lt;Central&gt;, Herrengasse 14</a></p>'
)
CONTACT_LINE = "Contact: Max &lt;Muster&gt; (+49 170 1234567)"
CONTACT_CARD = (
    '<p class="card-name">Max &lt;Muster&gt;</p>\n  <ul class="card-numbers">\n'
    '    <li class="card-number" data-action="create">\n'
    '      <span class="card-phone" dir="ltr">+49 170 1234567</span>'
)
CONTACT_TEXT = '<span class="kind-label">Contact:</span> Max &lt;Muster&gt; (+49 170 1234567)</p>'
PHONE_LOCATION_LINE = (
    'Location: <a href="https://www.google.com/maps/search/?api=1&amp;query=-33.856784,151.215297">'
    "Opera &amp; House</a>"
)


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    settings = make_settings(
        **world_settings_overrides(),
        cloud_access_token=CLOUD_TOKEN,
        cloud_app_secret=APP_SECRET,
        cloud_verify_token="kinds-verify",
    )
    graph = CloudStandIn(now=datetime.now(UTC))
    async with panel_world(settings, cloud=httpx.MockTransport(graph.handle)) as world:
        world.graph = graph  # type: ignore[attr-defined]
        yield world


# --- what the contact and the phone send, per transport ---------------------------------------------------


def waha_share(world: PanelWorld, kind: str, *, from_phone: bool) -> None:
    assert world.waha is not None
    if kind == "location":
        content: dict[str, Any] = {
            "latitude": -33.856784 if from_phone else 48.210033,
            "longitude": 151.215297 if from_phone else 16.363449,
            "name": "Opera & House" if from_phone else "Café <Central>",
            "address": "" if from_phone else "Herrengasse 14",
        }
    else:
        content = {"vcards": [VCARD]}
    sandbox_kind = "location" if kind == "location" else "contact"
    if from_phone:
        world.waha.type_on_phone(SESSION, f"{MARIA}@c.us", kind=sandbox_kind, content=content)
    else:
        world.waha.receive(SESSION, MARIA, kind=sandbox_kind, content=content, push_name="Maria")


async def cloud_share(world: PanelWorld, kind: str, *, from_phone: bool) -> None:
    """A location or contacts over the Cloud API, from Maria or sent from the owner's phone."""
    message: dict[str, Any] = {"id": f"wamid.{kind}.{from_phone}", "type": kind}
    if kind == "location":
        message["location"] = (
            {"latitude": -33.856784, "longitude": 151.215297, "name": "Opera & House"}
            if from_phone
            else {
                "latitude": 48.210033,
                "longitude": 16.363449,
                "name": "Café <Central>",
                "address": "Herrengasse 14",
            }
        )
    else:
        message["contacts"] = [
            {
                "name": {"formatted_name": "Max <Muster>", "first_name": "Max", "last_name": "<Muster>"},
                "phones": [{"phone": "+49 170 1234567", "wa_id": "491701234567", "type": "CELL"}],
            }
        ]
    await cloud_deliver(world, message, from_phone=from_phone)


async def cloud_deliver(world: PanelWorld, message: dict[str, Any], *, from_phone: bool) -> None:
    """A signed Cloud API delivery of ``message``: a customer's, or (``smb_message_echoes``) one the owner
    sent from the WhatsApp Business app on the phone."""
    message = {"timestamp": str(int(world.clock.now().timestamp())), **message}
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": CLOUD_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
    }
    if from_phone:
        value["message_echoes"] = [{**message, "from": CLOUD_NUMBER, "to": MARIA}]
    else:
        value["contacts"] = [{"profile": {"name": "Maria"}, "wa_id": MARIA}]
        value["messages"] = [{**message, "from": MARIA}]
    field = "smb_message_echoes" if from_phone else "messages"
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": field, "value": value}]}],
    }
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = await world.client.post(
        "/webhooks/cloud",
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert answer.status_code == 200, answer.text


async def link_cloud_number(world: PanelWorld) -> None:
    company = await SqlCompanyStore(world.resources.engine).get(world.anna.company_id)
    assert company is not None
    await SqlAccountStore(world.resources.engine).create(
        company_id=company.id, owner_user_id=world.anna.id, transport="cloud", session_name=PHONE_NUMBER_ID
    )


async def share(world: PanelWorld, transport: str, kind: str, *, from_phone: bool) -> None:
    if transport == "waha":
        waha_share(world, kind, from_phone=from_phone)
    else:
        await cloud_share(world, kind, from_phone=from_phone)
    await world.settle()


async def shared(world: PanelWorld) -> list[dict[str, Any]]:
    """The stored messages that carry details (the world's seeded history has none)."""
    return [m for m in await world.messages() if m["details"]]


# --- where they show ----------------------------------------------------------------------------------------


def transcript(world: PanelWorld) -> str:
    assert world.pd is not None
    activities = world.pd.company_data(world.anna.company_id).activities.values()
    return "\n".join(a["note"] or "" for a in activities if not a["is_deleted"])


async def panel_page(world: PanelWorld) -> str:
    params = {
        "resource": "person",
        "selectedIds": world.persons["maria"],
        "id": "frame-1",
        "token": world.token(),
    }
    page = await world.client.get("/panel", params=params)
    assert page.status_code == 200
    return page.text


async def chat_page(world: PanelWorld) -> str:
    chat_id = await chat_id_of(world, "+" + MARIA)
    async with browser(world) as client:
        page = await sign_in(world, client, world.anna, chat_id)
    assert page.status_code == 200
    return page.text


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_a_shared_location_is_a_map_link_in_the_transcript_the_panel_and_the_chat_view(
    world: PanelWorld, transport: str
) -> None:
    if transport == "cloud":
        await link_cloud_number(world)
    await share(world, transport, "location", from_phone=False)
    await share(world, transport, "location", from_phone=True)
    [stored_in, stored_out] = sorted(await shared(world), key=lambda m: m["from_me"])
    assert (stored_in["text"], stored_out["text"]) == ("", "")
    note = transcript(world)
    assert f"← <b>Maria</b>: {LOCATION_LINE}</p>" in note
    assert f"→ <b>You</b>: {PHONE_LOCATION_LINE}</p>" in note
    assert "<Central>" not in note
    panel = await panel_page(world)
    assert LOCATION_ROW in panel and "<Central>" not in panel
    assert ">Opera &amp; House</a>" in panel
    chat = await chat_page(world)
    assert LOCATION_ROW in chat and "<Central>" not in chat


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_shared_contacts_show_their_names_and_numbers_everywhere(
    world: PanelWorld, transport: str
) -> None:
    if transport == "cloud":
        await link_cloud_number(world)
    await share(world, transport, "contacts", from_phone=False)
    await share(world, transport, "contacts", from_phone=True)
    stored = await shared(world)
    assert sorted(m["from_me"] for m in stored) == [False, True] and {m["text"] for m in stored} == {""}
    note = transcript(world)
    assert f"← <b>Maria</b>: {CONTACT_LINE}</p>" in note
    assert f"→ <b>You</b>: {CONTACT_LINE}</p>" in note
    assert "BEGIN:VCARD" not in note and "<Muster>" not in note
    panel = await panel_page(world)  # each card with its numbers' actions: test_contact_cards.py
    assert panel.count(CONTACT_CARD) == 2 and "BEGIN:VCARD" not in panel and "<Muster>" not in panel
    chat = await chat_page(world)  # the line, which loads the same when it shows
    assert chat.count(CONTACT_TEXT) == 2 and "<Muster>" not in chat


async def test_the_panel_and_chat_view_were_on_the_linked_number(world: PanelWorld) -> None:
    """The WAHA number the tests above write through is Anna's own (the chat shows via her number)."""
    waha_share(world, "location", from_phone=False)
    await world.settle()
    assert f"via +{ANNA_NUMBER}" in await panel_page(world)


# --- calls ------------------------------------------------------------------------------------------------


def call_row(text: str) -> str:
    return f'<p class="kind call" data-kind="call"><span class="kind-label">Call:</span> {text}</p>'


async def cloud_call(world: PanelWorld, call_id: str, status: str, duration: int | None = None) -> None:
    """The Calling API's ``terminate`` webhook for a call Maria made to the Cloud number."""
    at = int(world.clock.now().timestamp())
    call: dict[str, Any] = {
        "id": call_id,
        "from": MARIA,
        "to": CLOUD_NUMBER,
        "event": "terminate",
        "direction": "USER_INITIATED",
        "timestamp": str(at),
        "status": status,
    }
    if duration is not None:
        call.update(start_time=str(at - duration), end_time=str(at), duration=duration)
    connect = {**call, "event": "connect", "status": None}  # no line: the call has not ended yet
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": CLOUD_NUMBER, "phone_number_id": PHONE_NUMBER_ID},
        "calls": [connect, call],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "calls", "value": value}]}],
    }
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(APP_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = await world.client.post(
        "/webhooks/cloud",
        content=raw,
        headers={"content-type": "application/json", "x-hub-signature-256": signature},
    )
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_missed_and_answered_calls_are_one_line_each(world: PanelWorld, transport: str) -> None:
    if transport == "waha":
        assert world.waha is not None
        session = world.waha.working(SESSION)
        ring(world.waha, session, MARIA, outcome="missed")
        ring(world.waha, session, MARIA, outcome="accepted", video=True)
        ring(world.waha, session, MARIA, outcome="rejected")
        answered = "Video call"  # WAHA reports no duration
    else:
        await link_cloud_number(world)
        await cloud_call(world, "wacid.missed", "FAILED")
        await cloud_call(world, "wacid.answered", "COMPLETED", duration=125)
        await cloud_call(world, "wacid.answered", "COMPLETED", duration=125)  # delivered again
        await cloud_call(world, "wacid.rejected", "FAILED")
        answered = "Voice call (2:05)"
    await world.settle()
    calls = await shared(world)
    assert len(calls) == 3 and not any(m["from_me"] for m in calls)
    note = transcript(world)
    assert note.count(": Call: Missed voice call</p>") == 2 and note.count(f": Call: {answered}</p>") == 1
    panel = await panel_page(world)
    assert panel.count(call_row("Missed voice call")) == 2 and panel.count(call_row(answered)) == 1
    chat = await chat_page(world)
    assert chat.count(call_row("Missed voice call")) == 2 and chat.count(call_row(answered)) == 1


async def test_an_answered_call_stays_answered_whatever_order_waha_reports_it_in(world: PanelWorld) -> None:
    assert world.waha is not None
    session = world.waha.working(SESSION)
    payload = {
        "id": "CA11ORDER",
        "from": f"{MARIA}@c.us",
        "timestamp": world.waha.clock.now_s(),
        "isVideo": False,
    }
    world.waha.emit(session, "call.received", {**payload, "isGroup": False, "_data": {}})
    await world.settle()
    assert "Call: Missed voice call</p>" in transcript(world)
    [missed] = await shared(world)
    first_id = missed["id"]
    world.waha.emit(session, "call.accepted", {**payload, "isGroup": False, "_data": {}})
    world.waha.emit(session, "call.received", {**payload, "isGroup": False, "_data": {}})  # late, again
    await world.settle()
    [call] = await shared(world)
    assert call["id"] == first_id
    note = transcript(world)
    assert "Call: Voice call</p>" in note and "Missed voice call" not in note
    assert call_row("Voice call") in await panel_page(world)


# --- stickers, GIFs and view-once media ---------------------------------------------------------------------


async def test_stickers_and_gifs_are_logged_and_view_once_media_is_never_fetched(world: PanelWorld) -> None:
    assert world.waha is not None
    world.waha.receive(SESSION, MARIA, kind="sticker", push_name="Maria")
    world.waha.receive(SESSION, MARIA, kind="gif")
    once = world.waha.receive(SESSION, MARIA, "nur einmal", kind="image", content={"viewOnce": True})
    await world.settle()
    stored = {
        m["media_kind"] or m["details"]: m for m in await world.messages() if m["sender_name"] == "Maria"
    }
    assert set(stored) == {"sticker", "gif", '{"kind":"view_once","media":"image"}'}
    assert stored["sticker"]["media_mime"] == "image/webp" and stored["gif"]["media_mime"] == "video/mp4"
    fetched = {download.name for download in world.waha.media.downloads}
    assert once.media is not None and once.media.name not in fetched  # never fetched
    assert f"{stored['sticker']['wa_message_id']}.webp" in fetched  # the others were
    note = transcript(world)
    sticker, gif = stored["sticker"]["id"], stored["gif"]["id"]
    chat_id = stored["gif"]["chat_id"]
    assert (
        f'<b>Maria</b>: <a href="http://wapipe.test/chats/{chat_id}/media/{sticker}">Sticker</a></p>' in note
    )
    assert f'<b>Maria</b>: <a href="http://wapipe.test/chats/{chat_id}/media/{gif}">GIF</a></p>' in note
    view_once = "View once: a photo, not saved: it can be opened only on the phone"
    assert f"<b>Maria</b>: {view_once}<br>nur einmal</p>" in note
    row = (
        '<p class="kind view_once" data-kind="view_once"><span class="kind-label">View once:</span> '
        "a photo, not saved: it can be opened only on the phone</p>"
    )
    panel = await panel_page(world)
    assert f'<img class="thumb sticker" src="/panel/media/{sticker}' in panel
    assert ">gif</a></p>" in panel and row in panel
    chat = await chat_page(world)
    assert f'<img class="media" src="/chats/{chat_id}/media/{sticker}"' in chat
    assert f'href="/chats/{chat_id}/media/{gif}?download=1">⬇ gif file</a>' in chat and row in chat


# --- polls (WAHA: the Cloud API delivers no polls) ---------------------------------------------------------


def kind_row(kind: str, label: str, text: str) -> str:
    return f'<p class="kind {kind}" data-kind="{kind}"><span class="kind-label">{label}:</span> {text}</p>'


async def test_a_poll_and_each_vote_as_it_comes(world: PanelWorld) -> None:
    assert world.waha is not None
    session = world.waha.working(SESSION)
    asked = world.waha.receive(
        SESSION,
        MARIA,
        kind="poll",
        content={"name": "Which day <b>?", "options": ["Mon", "Tue"]},
        push_name="Maria",
    )
    await world.settle()
    vote(world.waha, session, asked.id, ["Tue"])  # the salesperson answers on the phone
    ours = world.waha.type_on_phone(
        SESSION,
        f"{MARIA}@c.us",
        kind="poll",
        content={"name": "Colour?", "options": ["Red", "Blue", "Green"], "multiple": True},
    )
    await world.settle()
    vote(world.waha, session, ours.id, ["Red", "Green"], voter=MARIA)
    await world.settle()
    vote(world.waha, session, ours.id, [], voter=MARIA)  # she takes it back
    await world.settle()
    note = transcript(world)
    assert "<b>Maria</b>: Poll: Which day &lt;b&gt;?: Mon / Tue</p>" in note
    assert "→ <b>You</b>: Poll vote: Tue</p>" in note
    assert "→ <b>You</b>: Poll (several answers): Colour?: Red / Blue / Green</p>" in note
    assert (
        "<b>Maria</b>: Poll vote: Red, Green</p>" in note
        and "<b>Maria</b>: Poll vote: vote taken back</p>" in note
    )
    rows = [
        kind_row("poll", "Poll", "Which day &lt;b&gt;?: Mon / Tue"),
        kind_row("poll_vote", "Poll vote", "Tue"),
        kind_row("poll", "Poll (several answers)", "Colour?: Red / Blue / Green"),
        kind_row("poll_vote", "Poll vote", "Red, Green"),
        kind_row("poll_vote", "Poll vote", "vote taken back"),
    ]
    panel, chat = await panel_page(world), await chat_page(world)
    for row in rows:
        assert panel.count(row) == 1 and chat.count(row) == 1, row


async def test_a_cloud_sticker_is_fetched_and_shown_like_a_picture(world: PanelWorld) -> None:
    await link_cloud_number(world)
    graph: CloudStandIn = world.graph  # type: ignore[attr-defined]
    webp = b"RIFF\x1a\x00\x00\x00WEBPVP8L" + bytes(18)
    media_id = graph.add_inbound_media(webp, "image/webp")
    sticker = {
        "id": "wamid.sticker",
        "type": "sticker",
        "sticker": {"id": media_id, "mime_type": "image/webp", "animated": False},
    }
    await cloud_deliver(world, sticker, from_phone=False)
    await world.settle()
    [stored] = [m for m in await world.messages() if m["media_kind"] == "sticker"]
    chat_id, message_id = stored["chat_id"], stored["id"]
    assert (
        f'<b>Maria</b>: <a href="http://wapipe.test/chats/{chat_id}/media/{message_id}">Sticker</a></p>'
        in transcript(world)
    )
    assert f'<img class="thumb sticker" src="/panel/media/{message_id}' in await panel_page(world)
    assert f'<img class="media" src="/chats/{chat_id}/media/{message_id}"' in await chat_page(world)


# --- deleted by the sender --------------------------------------------------------------------------------


async def test_a_location_its_sender_deleted_leaves_no_place_or_coordinates(world: PanelWorld) -> None:
    assert world.waha is not None
    waha_share(world, "location", from_phone=False)
    await world.settle()
    [shared_location] = await shared(world)
    world.waha.revoke_message(SESSION, shared_location["wa_message_id"])
    await world.settle()
    [stored] = [m for m in await world.messages() if m["id"] == shared_location["id"]]
    assert stored["details"] == "" and stored["revoked_at"] is not None
    note = transcript(world)
    assert "<b>Maria</b>: <i>This message was deleted</i></p>" in note
    assert "Central" not in note and "48.210033" not in note  # the place and its map link
    panel, chat = await panel_page(world), await chat_page(world)
    assert "Café &lt;Central" not in panel and 'data-kind="location"' not in panel
    assert "Café &lt;Central" not in chat and 'data-kind="location"' not in chat


async def test_with_deleted_texts_kept_the_place_stays_in_pipedrive_only(world: PanelWorld) -> None:
    assert world.waha is not None
    answer = await save(world, keep_deleted_text="on")
    assert answer.status_code == 200
    waha_share(world, "location", from_phone=False)
    await world.settle()
    [shared_location] = await shared(world)
    world.waha.revoke_message(SESSION, shared_location["wa_message_id"])
    await world.settle()
    assert f"<b>Maria</b>: <i>This message was deleted</i><br>{LOCATION_LINE}</p>" in transcript(world)
    panel, chat = await panel_page(world), await chat_page(world)
    assert 'data-kind="location"' not in panel and 'data-kind="location"' not in chat
