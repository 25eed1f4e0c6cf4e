"""Edits and deletions by the sender end to end, on WAHA and on the Cloud API, from the contact and from the
salesperson's phone: ingest → the Pipedrive transcript line → the panel bubble → the chat view row.

Expected markup is written out here; the day's activity is rewritten in place (one activity, no line lost).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.tables import InboundEvent
from tests.chat_view.test_chat_view import browser, chat_id_of, sign_in
from tests.panel.world import PanelWorld, panel_world
from tests.settings_page.test_settings_page import save
from tests.world import world_settings_overrides

SESSION = "wp-acme-anna"
MARIA = "4917655501234"
PHONE_NUMBER_ID = "106540352242922"
CLOUD_NUMBER = "4930123456789"
APP_SECRET = "changes-app-secret"
ASKED = "Can you do 5 % off?"
EDITED = "Can you do 10 % off?"
ANSWER = "Let me check <with the boss>"
DELETED = '<p class="text deleted"><i>This message was deleted</i></p>'


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    settings = make_settings(
        **world_settings_overrides(),
        cloud_access_token="changes-cloud-token",
        cloud_app_secret=APP_SECRET,
        cloud_verify_token="changes-verify",
    )
    async with panel_world(settings) as world:
        yield world


# --- the two transports -------------------------------------------------------------------------------------


class Waha:
    def __init__(self, world: PanelWorld) -> None:
        assert world.waha is not None
        self.waha = world.waha
        self.ids: dict[str, str] = {}

    async def say(self, name: str, text: str, *, from_phone: bool) -> None:
        if from_phone:
            message = self.waha.type_on_phone(SESSION, f"{MARIA}@c.us", text)
        else:
            message = self.waha.receive(SESSION, MARIA, text, push_name="Maria")
        self.ids[name] = message.raw_id

    async def edit(self, name: str, text: str, *, from_phone: bool) -> None:
        self.waha.edit_message(SESSION, self.ids[name], text)

    async def delete(self, name: str, *, from_phone: bool) -> None:
        self.waha.revoke_message(SESSION, self.ids[name])


class Cloud:
    """Signed Cloud API deliveries: the customer's in ``messages``, the owner's from the WhatsApp Business
    app in ``smb_message_echoes``."""

    def __init__(self, world: PanelWorld) -> None:
        self.world = world
        self.count = 0

    async def say(self, name: str, text: str, *, from_phone: bool) -> None:
        await self._post({"id": f"wamid.{name}", "type": "text", "text": {"body": text}}, from_phone)

    async def edit(self, name: str, text: str, *, from_phone: bool) -> None:
        edit = {"original_message_id": f"wamid.{name}", "message": {"type": "text", "text": {"body": text}}}
        await self._post({"id": self._id(), "type": "edit", "edit": edit}, from_phone)

    async def delete(self, name: str, *, from_phone: bool) -> None:
        revoke = {"original_message_id": f"wamid.{name}"}
        await self._post({"id": self._id(), "type": "revoke", "revoke": revoke}, from_phone)

    def _id(self) -> str:
        self.count += 1
        return f"wamid.change{self.count}"

    async def _post(self, message: dict[str, Any], from_phone: bool) -> None:
        message = {**message, "timestamp": str(int(self.world.clock.now().timestamp()))}
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
        answer = await self.world.client.post(
            "/webhooks/cloud",
            content=raw,
            headers={"content-type": "application/json", "x-hub-signature-256": signature},
        )
        assert answer.status_code == 200, answer.text


async def phone(world: PanelWorld, transport: str) -> Waha | Cloud:
    if transport == "waha":
        return Waha(world)
    await SqlAccountStore(world.resources.engine).create(
        company_id=await _company(world),
        owner_user_id=world.anna.id,
        transport="cloud",
        session_name=PHONE_NUMBER_ID,
    )
    return Cloud(world)


async def _company(world: PanelWorld) -> int:
    company = await SqlCompanyStore(world.resources.engine).get(world.anna.company_id)
    assert company is not None
    return company.id


# --- where they show ----------------------------------------------------------------------------------------


def activities(world: PanelWorld) -> list[dict[str, Any]]:
    assert world.pd is not None
    found = world.pd.company_data(world.anna.company_id).activities.values()
    return [a for a in found if not a["is_deleted"]]


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


async def conversation(world: PanelWorld, transport: str) -> tuple[Waha | Cloud, dict[str, Any]]:
    """Maria asks, the salesperson answers from the phone: today's activity, with both lines."""
    side = await phone(world, transport)
    await side.say("ask", ASKED, from_phone=False)
    await side.say("answer", ANSWER, from_phone=True)
    await world.settle()
    [today] = [a for a in activities(world) if ASKED in a["note"]]
    return side, today


def rewritten(world: PanelWorld, today: dict[str, Any], count: int) -> str:
    """Today's note, once the changes were applied to the same activity and no activity was added."""
    found = activities(world)
    assert len(found) == count
    [activity] = [a for a in found if a["id"] == today["id"]]
    return str(activity["note"])


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_edits_show_the_new_text_marked_edited_everywhere(world: PanelWorld, transport: str) -> None:
    side, today = await conversation(world, transport)
    count = len(activities(world))
    await side.edit("ask", EDITED, from_phone=False)
    await side.edit("answer", "Let me check", from_phone=True)
    await world.settle()
    note = rewritten(world, today, count)
    assert f"← <b>Maria</b>: {EDITED} <i>(edited)</i></p>" in note
    assert "→ <b>You</b>: Let me check <i>(edited)</i></p>" in note
    assert ASKED not in note and "boss" not in note
    panel = await panel_page(world)
    assert f'<p class="text" dir="auto">{EDITED} <span class="edited">(edited)</span></p>' in panel
    assert '<p class="text" dir="auto">Let me check <span class="edited">(edited)</span></p>' in panel
    assert ASKED not in panel
    chat = await chat_page(world)
    assert f'<p class="text">{EDITED} <span class="edited">(edited)</span></p>' in chat
    assert "<summary>Earlier versions</summary>" in chat
    assert f"UTC</time> {ASKED}</p>" in chat  # what the edit replaced stays in WaPipe
    assert "UTC</time> Let me check &lt;with the boss&gt;</p>" in chat


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_deletions_show_where_the_message_stood_and_its_text_is_gone(
    world: PanelWorld, transport: str
) -> None:
    side, today = await conversation(world, transport)
    count = len(activities(world))
    await side.edit("ask", EDITED, from_phone=False)
    await world.settle()
    await side.delete("ask", from_phone=False)
    await side.delete("answer", from_phone=True)
    await world.settle()
    note = rewritten(world, today, count)
    assert "← <b>Maria</b>: <i>This message was deleted</i></p>" in note
    assert "→ <b>You</b>: <i>This message was deleted</i></p>" in note
    assert "% off" not in note and "boss" not in note
    panel = await panel_page(world)
    assert panel.count(DELETED) == 2 and "% off" not in panel
    chat = await chat_page(world)
    assert chat.count(DELETED) == 2 and "% off" not in chat and "Earlier versions" not in chat
    stored = [m for m in await world.messages() if m["revoked_at"] is not None]
    assert len(stored) == 2 and all(m["text"] == "" and m["edit_history"] == "" for m in stored)


async def test_a_company_that_keeps_deleted_text_finds_it_in_pipedrive_only(world: PanelWorld) -> None:
    answer = await save(world, keep_deleted_text="on")
    assert answer.status_code == 200
    assert 'id="keep_deleted_text" name="keep_deleted_text" checked' in answer.text
    side, today = await conversation(world, "waha")
    count = len(activities(world))
    await side.delete("ask", from_phone=False)
    await world.settle()
    note = rewritten(world, today, count)
    assert f"← <b>Maria</b>: <i>This message was deleted</i><br>{ASKED}</p>" in note
    panel = await panel_page(world)
    assert panel.count(DELETED) == 1 and ASKED not in panel
    chat = await chat_page(world)
    assert chat.count(DELETED) == 1 and ASKED not in chat
    page = await world.client.get("/settings", params={"token": world.token()})
    assert 'id="keep_deleted_text" name="keep_deleted_text" checked' in page.text


async def test_an_edit_that_overtakes_its_message_is_applied_once_the_message_arrives(
    world: PanelWorld,
) -> None:
    side = await phone(world, "cloud")
    await side.edit("ask", EDITED, from_phone=False)  # delivered before the message it edits
    await side.say("ask", ASKED, from_phone=False)
    await world.settle()
    [note] = [a["note"] for a in activities(world) if "% off" in a["note"]]
    assert f"← <b>Maria</b>: {EDITED} <i>(edited)</i></p>" in note and ASKED not in note
    stored = [e for e in await world.rows(InboundEvent) if e["transport"] == "cloud"]
    assert {e["state"] for e in stored} == {"processed"} and {bytes(e["body"]) for e in stored} == {b""}
