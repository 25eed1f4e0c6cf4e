"""Every id and number a route takes from outside is range-checked where it arrives: path ids, query and
form fields, the uninstall notice's body. Values past 32 bits (WaPipe's ids are PostgreSQL INTEGERs), past
64 bits, thousands of digits long, negative, in another notation or with a space each get a 400 or 404
with a named reason, on SQLite and on PostgreSQL; never a 500 (the in-process client raises what the app
does not handle, so a crash fails the test)."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

import httpx
import pytest
from sqlalchemy import select

from sandbox.pipedrive.app import create_app as create_pipedrive
from server.settings import Settings
from server.storage.tables import Chat, Outbox, table_of
from tests.panel.world import PanelWorld, panel_world
from tests.world import CLIENT_ID, CLIENT_SECRET, SANDBOX, WAPIPE, world_settings_overrides

SESSION = "wp-acme-anna"
LARGEST_ID = "2147483647"  # PostgreSQL's INTEGER, the largest id WaPipe stores
TOO_LARGE = ["2147483648", "9223372036854775808", "18446744073709551616", "1" + "0" * 4000]
NOT_AN_ID = ["-1", "0", "1e3", " 1", "1 ", "01", "+1", "1.0", "١٢", "²"]
REFUSED = TOO_LARGE + NOT_AN_ID
TYPED_REFUSED = [value for value in REFUSED if value.strip() == value]


@pytest.fixture
async def world(
    make_settings: Callable[..., Settings], migrated_database_url: str
) -> AsyncIterator[PanelWorld]:
    settings = make_settings(database_url=migrated_database_url, **world_settings_overrides())
    async with panel_world(settings) as world:
        yield world


def reason_of(response: httpx.Response) -> str | None:
    found = response.text.split('data-reason="', 1)
    return found[1].split('"', 1)[0] if len(found) == 2 else None


def named(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, reason_of(response)


async def a_chat(world: PanelWorld) -> int:
    world.waha.receive(SESSION, "4917655501234", "Hallo", push_name="Maria")
    await world.settle()
    table = table_of(Chat)
    async with world.resources.engine.connect() as connection:
        found = (
            await connection.execute(select(table.c.id).where(table.c.e164 == "+4917655501234"))
        ).scalar()
    assert found is not None
    return int(found)


async def test_path_ids_out_of_range_are_not_routes(world: PanelWorld) -> None:
    headers = world.headers()
    for value in REFUSED:
        segment = quote(value, safe="")
        for method, path in [
            ("GET", f"/numbers/{segment}/pairing"),
            ("POST", f"/numbers/{segment}/unlink"),
            ("GET", f"/panel/media/{segment}?c=1&e=1&s=x"),
            ("GET", f"/chats/{segment}"),
            ("GET", f"/chats/{segment}/messages"),
            ("GET", f"/chats/1/media/{segment}"),
            ("POST", f"/chats/{segment}/reply"),
        ]:
            answer = await world.client.request(method, path, headers=headers)
            assert named(answer) == (404, "not_found"), f"{method} {path[:60]}"


async def test_the_largest_id_reaches_the_handlers(world: PanelWorld) -> None:
    headers = world.headers()
    assert named(await world.client.get(f"/numbers/{LARGEST_ID}/pairing", headers=headers)) == (
        404,
        "not_found",
    )
    media = await world.client.get(f"/panel/media/{LARGEST_ID}", params={"c": 1, "e": 1, "s": "x"})
    assert media.status_code == 403  # an expired link, checked before anything is looked up
    chat = await world.client.get(f"/chats/{LARGEST_ID}")
    assert chat.status_code == 303  # sign in first


async def test_panel_query_ids(world: PanelWorld) -> None:
    headers = world.headers()
    maria = world.persons["maria"]
    for value in REFUSED:
        page = await world.client.get(
            "/panel", params={"resource": "person", "selectedIds": value}, headers=headers
        )
        assert named(page) == (400, "person_not_found"), value[:30]
        polled = await world.client.get("/panel/messages", params={"person_id": value}, headers=headers)
        assert named(polled) == (400, "person_not_found"), value[:30]
        deal = await world.client.get(
            "/panel/messages", params={"person_id": maria, "deal_id": value}, headers=headers
        )
        assert named(deal) == (400, "deal_not_found"), value[:30]
        retry = await world.client.get(
            "/panel/form", params={"person_id": maria, "retry": value}, headers=headers
        )
        assert named(retry) == (400, "invalid_request"), value[:30]
    largest = await world.client.get(
        "/panel/form", params={"person_id": maria, "retry": LARGEST_ID}, headers=headers
    )
    assert named(largest) == (404, "invalid_request")


def send_form(world: PanelWorld, **fields: str) -> dict[str, Any]:
    form = {
        "person_id": str(world.persons["maria"]),
        "client_ref": "ref-0123456789abcdef",
        "to": "+49 176 55501234",
        "account_id": "1",
        "region": "",
        "file_id": "",
        "text": "Hallo Maria",
    }
    return {**form, **fields}


async def test_panel_send_fields(world: PanelWorld) -> None:
    headers = world.headers()
    for value in REFUSED:
        person = await world.client.post(
            "/panel/send", data=send_form(world, person_id=value), headers=headers
        )
        assert named(person) == (400, "person_not_found"), value[:30]
        deal = await world.client.post("/panel/send", data=send_form(world, deal_id=value), headers=headers)
        assert named(deal) == (400, "deal_not_found"), value[:30]
        account = await world.client.post(
            "/panel/send", data=send_form(world, account_id=value), headers=headers
        )
        assert named(account) == (400, "unknown_from_number"), value[:30]
        attached = await world.client.post(
            "/panel/send", data=send_form(world, file_id=value), headers=headers
        )
        assert named(attached) == (404, "attachment_missing"), value[:30]
    assert await world.rows(Outbox) == []  # nothing was queued, not even without its attachment


async def test_panel_relink_and_pin_fields(world: PanelWorld) -> None:
    headers = world.headers()
    chat = str(await a_chat(world))
    for value in REFUSED:
        relinked = await world.client.post(
            "/panel/relink", data={"chat_id": value, "person_id": "1"}, headers=headers
        )
        assert named(relinked) == (400, "chat_not_found"), value[:30]
        pinned = await world.client.post(
            "/panel/pin", data={"chat_id": value, "deal_id": "1"}, headers=headers
        )
        assert named(pinned) == (400, "chat_not_found"), value[:30]
    for value in TYPED_REFUSED:  # typed by a person: spaces around the digits are forgiven
        person = await world.client.post(
            "/panel/relink", data={"chat_id": chat, "person_id": value}, headers=headers
        )
        assert named(person) == (400, "invalid_person"), value[:30]
        deal = await world.client.post(
            "/panel/pin", data={"chat_id": chat, "deal_id": value}, headers=headers
        )
        assert named(deal) == (400, "invalid_deal"), value[:30]
    maria = str(world.persons["maria"])
    spaced = await world.client.post(
        "/panel/relink", data={"chat_id": chat, "person_id": f" {maria} "}, headers=headers
    )
    assert spaced.status_code == 200 and f"now linked to Maria Kunde (Person #{maria})" in spaced.text
    for missing in ("/panel/relink", "/panel/pin"):
        answer = await world.client.post(
            missing, data={"chat_id": LARGEST_ID, "person_id": "1"}, headers=headers
        )
        assert named(answer) == (404, "chat_not_found")


async def test_settings_fields(world: PanelWorld) -> None:
    headers = world.headers()
    form = {"import_frequency": "realtime", "new_chat_action": "deal", "excluded_numbers": ""}
    for value in [*REFUSED, LARGEST_ID]:
        excluded = await world.client.post("/settings/exclusions", data={"chat_id": value}, headers=headers)
        assert excluded.status_code == 404 and 'data-reason="chat_not_found"' in excluded.text, value[:30]
        slot = await world.client.get(
            "/settings/pipeline", params={"new_chat_action": "deal", "pipeline_id": value}, headers=headers
        )
        assert slot.status_code == 200, value[:30]
    for value in [*TYPED_REFUSED, LARGEST_ID]:  # the settings form trims every field it reads
        saved = await world.client.post("/settings", data={**form, "pipeline_id": value}, headers=headers)
        assert saved.status_code == 400 and 'data-reason="unknown_pipeline"' in saved.text, value[:30]


@contextlib.asynccontextmanager
async def signed_in(world: PanelWorld, chat_id: int) -> AsyncIterator[httpx.AsyncClient]:
    """A browser with Anna's chat view session (the sign-in round trip through the sandbox)."""
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=world.app), base_url=WAPIPE) as client,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=create_pipedrive(world.pd)), base_url=SANDBOX
        ) as sandbox,
    ):
        start = await client.get("/signin", params={"next": f"/chats/{chat_id}"})
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        form = {
            "client_id": CLIENT_ID,
            "redirect_uri": f"{WAPIPE}/oauth/callback",
            "user_id": str(world.anna.id),
            "state": state,
            "decision": "allow",
        }
        answer = await sandbox.post("/oauth/authorize", data=form)
        assert (await client.get(answer.headers["location"])).status_code == 303
        yield client


async def test_chat_view_query_ids(world: PanelWorld) -> None:
    chat_id = await a_chat(world)
    async with signed_in(world, chat_id) as browser:
        assert (await browser.get(f"/chats/{chat_id}")).status_code == 200
        for value in REFUSED:
            for name in ("after", "before"):
                if (name, value) == ("after", "0"):  # before every message: an empty page's poll
                    continue
                answer = await browser.get(f"/chats/{chat_id}/messages", params={name: value})
                assert named(answer) == (400, "invalid_request"), f"{name}={value[:30]}"
        everything = await browser.get(f"/chats/{chat_id}/messages", params={"after": "0"})
        assert everything.status_code == 200 and 'class="bubble' in everything.text
        newer = await browser.get(f"/chats/{chat_id}/messages", params={"after": LARGEST_ID})
        assert newer.status_code == 204


async def test_the_installed_page_counts_its_polls(world: PanelWorld) -> None:
    installed = await world.install(world.anna)
    ticket = parse_qs(urlparse(installed.headers["location"]).query)["ticket"][0]
    assert (await world.client.get("/installed", params={"ticket": ticket, "polls": "3"})).status_code == 200
    for value in ["-1", "1e3", " 1", "²", "١", "1" + "0" * 4400, "99999999999999999999"]:
        for path in ("/installed", "/installed/setup"):
            answer = await world.client.get(path, params={"ticket": ticket, "polls": value})
            assert named(answer) == (400, "invalid_polls"), f"{path} polls={value[:30]}"


def basic() -> dict[str, str]:
    pair = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return {"Authorization": f"Basic {pair}", "content-type": "application/json"}


def uninstall_body(company_id: str, user_id: str) -> bytes:
    """Written by hand, so the numbers are spelled exactly as given."""
    return (
        f'{{"client_id": "{CLIENT_ID}", "company_id": {company_id}, "user_id": {user_id}, '
        f'"timestamp": "2026-03-01T12:00:00Z"}}'
    ).encode()


async def test_the_uninstall_notice_ids(world: PanelWorld) -> None:
    company, user = str(world.anna.company_id), str(world.anna.id)
    spelled = [
        "2147483648",
        "9223372036854775808",
        "18446744073709551616",
        "1" + "0" * 4000,
        "-1",
        "0",
        "1e3",
        "1.0",
        "true",
        '"2147483648"',
        '"9223372036854775808"',
        '"-1"',
        '"1e3"',
        '" 1"',
        '"01"',
        '"١"',
    ]
    for value in spelled:
        for body, reason in [
            (uninstall_body(value, user), "invalid_company_id"),
            (uninstall_body(company, value), "invalid_user_id"),
        ]:
            answer = await world.client.request("DELETE", "/oauth/callback", content=body, headers=basic())
            assert (answer.status_code, answer.json()["error"]) == (400, reason), value[:30]
    largest = await world.client.request(
        "DELETE", "/oauth/callback", content=uninstall_body(LARGEST_ID, LARGEST_ID), headers=basic()
    )
    assert largest.status_code == 200 and largest.json() == {"status": "ok"}
    as_text = await world.client.request(
        "DELETE", "/oauth/callback", content=uninstall_body(f'"{company}"', f'"{user}"'), headers=basic()
    )
    assert as_text.status_code == 200
    assert json.loads(as_text.text) == {"status": "ok"}


async def test_a_media_links_company_and_expiry_must_be_plain_numbers(world: PanelWorld) -> None:
    """Refused as links we never made (404) before the signature is even compared."""
    later = str(int(time.time()) + 3600)
    for value in REFUSED:
        company = await world.client.get("/panel/media/1", params={"c": value, "e": later, "s": "0" * 32})
        assert company.status_code == 404, value[:30]
    for value in ["-1", " 1", "1e3", "1.5", "٣", "²", "1" * 5000, "9" * 20]:
        expiry = await world.client.get("/panel/media/1", params={"c": "1", "e": value, "s": "0" * 32})
        assert expiry.status_code == 404, value[:30]
