"""The WAHA adapter and the WAHA sandbox against WAHA's own OpenAPI document (2026.7.1).

The adapter drives the sandbox through every call it makes; every request it sends must be a documented
operation whose parameters and body validate, and every successful answer the sandbox gives must carry a
documented status and a body that validates against the documented response.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import InvalidParameter, InvalidRequestBody
from openapi_core.validation.response.exceptions import InvalidData

from server.domain.errors import NumberNotOnWhatsApp
from server.domain.whatsapp import MediaKind, MediaRef, MessageOrigin, OutboundMedia, OutboundMessage
from tests.whatsapp.waha_contract import FILE_LINKS, Undocumented, WahaContract, contract
from tests.whatsapp.waha_sandbox_world import ACCOUNT, ANA, JONAS, OWNER, World, open_world

CUSTOMER = "4917612345678"
OPUS = b"OggS\x00\x02" + bytes(40) + b"OpusHead" + bytes(64)

# (method, template) of every WAHA operation the adapter calls; the exercise below reaches each one.
ADAPTER_OPERATIONS = {
    ("get", "/api/server/version"),
    ("get", "/api/sessions/{session}"),
    ("post", "/api/sessions"),
    ("put", "/api/sessions/{session}"),
    ("post", "/api/sessions/{session}/start"),
    ("post", "/api/sessions/{session}/stop"),
    ("post", "/api/sessions/{session}/logout"),
    ("get", "/api/sessions/{session}/me"),
    ("get", "/api/{session}/auth/qr"),
    ("post", "/api/{session}/auth/request-code"),
    ("post", "/api/sendText"),
    ("post", "/api/sendImage"),
    ("post", "/api/sendFile"),
    ("post", "/api/sendVoice"),
    ("post", "/api/sendVideo"),
    ("get", "/api/{session}/chats"),
    ("get", "/api/{session}/chats/{chatId}/messages"),
    ("get", "/api/{session}/groups/{id}"),
    ("get", "/api/{session}/groups/{id}/participants/v2"),
    ("get", "/api/{session}/lids/{lid}"),
    ("get", "/api/{session}/lids/pn/{phoneNumber}"),
    ("get", "/api/contacts/check-exists"),
}


@dataclass
class Exchange:
    request: httpx.Request
    response: httpx.Response


def media(kind: MediaKind, mime: str, filename: str | None, data: bytes) -> OutboundMessage:
    text = None if kind is MediaKind.VOICE else f"the {kind}"
    return OutboundMessage(
        client_ref=f"out-{kind}-{filename}",
        to=f"{CUSTOMER}@s.whatsapp.net",
        text=text,
        media=OutboundMedia(kind, mime, filename, data=data),
    )


async def exercise_adapter(world: World) -> list[MediaRef]:
    """Every call the adapter makes, on a session from creation to logout; returns the media it fetched."""
    waha = world.waha
    await waha.status(ACCOUNT)  # 404: no session yet
    await waha.connect(ACCOUNT)  # creates it
    await world.sim.settle()
    await waha.connect(ACCOUNT)  # reads it
    await waha.update_config(ACCOUNT)
    await world.sim.settle()
    await waha.pairing_qr(ACCOUNT)
    await waha.pairing_qr_image(ACCOUNT)
    await waha.pairing_code(ACCOUNT, f"+{OWNER}")
    world.sim.scan(ACCOUNT, OWNER, "Mia")
    await world.events()
    await waha.me(ACCOUNT)
    await waha.status(ACCOUNT)

    text = OutboundMessage(client_ref="t", to=f"+{CUSTOMER}", text="Your quote is ready")
    started = world.now()
    sent = await waha.send(ACCOUNT, text)
    await waha.send(
        ACCOUNT,
        OutboundMessage(client_ref="r", to=f"+{CUSTOMER}", text="See above", reply_to=sent.transport_id),
    )
    for message in (
        media(MediaKind.IMAGE, "image/png", "q.png", b"\x89PNG fake"),
        media(MediaKind.IMAGE, "image/jpeg", None, b"\xff\xd8 fake"),
        media(MediaKind.DOCUMENT, "application/pdf", "Quote.pdf", b"%PDF-1.4"),
        media(MediaKind.AUDIO, "audio/mpeg", "song.mp3", b"ID3 fake"),
        media(MediaKind.VOICE, "audio/ogg; codecs=opus", None, OPUS),
        media(MediaKind.VOICE, "audio/mp4", None, b"\x00\x00\x00 ftypM4A"),
        media(MediaKind.VIDEO, "video/mp4", "clip.mp4", b"\x00\x00\x00 ftypmp4"),
        media(MediaKind.VIDEO, "video/quicktime", None, b"\x00\x00\x00 ftypqt"),
    ):
        await waha.send(ACCOUNT, message)
    await waha.find_sent(ACCOUNT, text, since=started)
    world.sim.receive(ACCOUNT, JONAS, "Which colour?", reply_to=sent.transport_id)
    await world.events()

    await waha.list_chats(ACCOUNT)
    await waha.list_chats(ACCOUNT, limit=1, offset=1)
    everything = await waha.history(
        ACCOUNT, None, since=world.now() - timedelta(days=2), origin=MessageOrigin.HISTORY
    )
    await waha.history(ACCOUNT, f"{ANA}@s.whatsapp.net", since=None, limit=3, offset=3)
    fetched = [m.media for m in everything.messages if m.media is not None][:2]
    for ref in fetched:
        b"".join([chunk async for chunk in waha.fetch_media(ACCOUNT, ref)])

    [group_id] = world.sim.session(ACCOUNT).groups
    await waha.group_info(ACCOUNT, group_id)
    await waha.resolve_lid(ACCOUNT, f"{world.sim.contact_lids[ANA]}@lid")
    await waha.resolve_lid(ACCOUNT, "254000825925805@lid")  # a LID with no known phone
    await waha.lid_for_phone(ACCOUNT, f"+{ANA}")
    await waha.lid_for_phone(ACCOUNT, f"+{CUSTOMER}")
    await waha.check_number(ACCOUNT, f"+{JONAS}")
    world.sim.missing_numbers.add("4930901820")
    with pytest.raises(NumberNotOnWhatsApp):
        await waha.check_number(ACCOUNT, "+4930901820")

    await waha.disconnect(ACCOUNT)
    await waha.connect(ACCOUNT)  # a stopped session is started again
    await world.sim.settle()
    await waha.disconnect(ACCOUNT, logout=True)
    return fetched


@pytest.fixture
async def exchanges() -> AsyncIterator[tuple[list[Exchange], list[MediaRef]]]:
    seen: list[Exchange] = []

    async def on_response(response: httpx.Response) -> None:
        seen.append(Exchange(response.request, response))

    async for world in open_world():
        world.waha.http.event_hooks = {"request": [], "response": [on_response]}
        fetched = await exercise_adapter(world)
        yield seen, fetched


@pytest.fixture(scope="module")
def checker() -> WahaContract:
    return contract()


def is_file_link(request: httpx.Request) -> bool:
    return request.method == "GET" and FILE_LINKS.fullmatch(request.url.path) is not None


async def test_every_request_the_adapter_sends_is_a_documented_operation(
    exchanges: tuple[list[Exchange], list[MediaRef]], checker: WahaContract
) -> None:
    seen, fetched = exchanges
    failures: list[str] = []
    used: set[tuple[str, str]] = set()
    for exchange in seen:
        request = exchange.request
        if is_file_link(request):
            continue
        try:
            found = checker.validate_request(request)
        except Exception as error:
            failures.append(f"{request.method} {request.url}: {error!r} {error.__cause__!r}")
            continue
        used.add((found.method, found.template))
    assert not failures, "\n".join(failures)
    assert used >= ADAPTER_OPERATIONS
    # The only requests outside the document are downloads of the links WAHA handed out.
    links = [str(exchange.request.url) for exchange in seen if is_file_link(exchange.request)]
    assert links and links == [ref.locator for ref in fetched]


async def test_every_answer_the_sandbox_gives_is_the_documented_one(
    exchanges: tuple[list[Exchange], list[MediaRef]], checker: WahaContract
) -> None:
    seen, _ = exchanges
    failures: list[str] = []
    checked = 0
    for exchange in seen:
        request, response = exchange.request, exchange.response
        if is_file_link(request) or response.status_code >= 400:
            continue  # the document describes no error answers
        found = checker.operation(request.method, request.url.path)
        if response.status_code not in checker.documented_statuses(found):
            failures.append(f"{request.method} {request.url.path}: status {response.status_code}")
            continue
        try:
            checker.validate_response(response)
        except Exception as error:
            failures.append(f"{request.method} {request.url.path}: {error!r} {error.__cause__!r}")
        checked += 1
    assert not failures, "\n".join(failures)
    assert checked >= 30


async def test_a_drifted_request_fails_the_contract(
    exchanges: tuple[list[Exchange], list[MediaRef]], checker: WahaContract
) -> None:
    seen, _ = exchanges
    send = next(e.request for e in seen if e.request.url.path == "/api/sendText")
    checker.validate_request(send)
    key = {"X-Api-Key": send.headers["x-api-key"]}
    wrong_type = httpx.Request(
        "POST", send.url, headers=key, json={"session": ACCOUNT, "chatId": f"{ANA}@c.us", "text": 5}
    )
    with pytest.raises(InvalidRequestBody):
        checker.validate_request(wrong_type)
    no_chat = httpx.Request("POST", send.url, headers=key, json={"session": ACCOUNT, "text": "hi"})
    with pytest.raises(InvalidRequestBody):
        checker.validate_request(no_chat)

    chats = next(e.request for e in seen if e.request.url.path.endswith("/chats"))
    checker.validate_request(chats)
    wrong_sort = httpx.Request(
        "GET", chats.url.copy_merge_params({"sortBy": "messageTimestamp"}), headers=key
    )
    with pytest.raises(InvalidParameter):
        checker.validate_request(wrong_sort)
    with pytest.raises(Undocumented):
        checker.validate_request(httpx.Request("POST", "http://127.0.0.1:3000/api/sendSticker", json={}))


async def test_a_drifted_answer_fails_the_contract(
    exchanges: tuple[list[Exchange], list[MediaRef]], checker: WahaContract
) -> None:
    seen, _ = exchanges
    history = next(
        e.response
        for e in seen
        if e.request.url.path.endswith("/chats/all/messages") and e.response.status_code == 200
    )
    checker.validate_response(history)
    messages = history.json()
    assert messages
    missing = copy.deepcopy(messages)
    del missing[0]["fromMe"]
    with pytest.raises(InvalidData):
        checker.validate_response(history, body=missing)
    wrong_type = copy.deepcopy(messages)
    wrong_type[0]["timestamp"] = str(wrong_type[0]["timestamp"])
    with pytest.raises(InvalidData):
        checker.validate_response(history, body=wrong_type)
    session = next(
        e.response
        for e in seen
        if e.request.method == "GET"
        and e.response.status_code == 200
        and e.request.url.path == f"/api/sessions/{ACCOUNT}"
    )
    checker.validate_response(session)
    no_status = {k: v for k, v in session.json().items() if k != "status"}
    with pytest.raises(InvalidData):
        checker.validate_response(session, body=no_status)
    created = next(
        e.response for e in seen if e.request.method == "POST" and e.request.url.path == "/api/sessions"
    )
    as_ok = httpx.Response(200, json=created.json(), request=created.request)
    with pytest.raises(ResponseNotFound):
        checker.validate_response(as_ok)
