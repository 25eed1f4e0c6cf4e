"""Messages the salesperson writes on the phone itself (not through WaPipe), on WAHA and on the Cloud API
(the WhatsApp Business app's ``smb_message_echoes``): logged once however often they are delivered, as
"You" in the transcript, the panel and the chat view, and never taken for a WaPipe send on its way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chat_view.test_message_kinds import (
    MARIA,
    SESSION,
    chat_page,
    cloud_deliver,
    link_cloud_number,
    panel_page,
    transcript,
    world,
)
from tests.panel.world import PanelWorld

__all__ = ["world"]  # the fixture: a Pipedrive company with a WAHA number and the Cloud API configured

TYPED = "Bin in 10 Minuten da <b>"
TYPED_LINE = "→ <b>You</b>: Bin in 10 Minuten da &lt;b&gt;</p>"
TYPED_BUBBLE = '<p class="text" dir="auto">Bin in 10 Minuten da &lt;b&gt;'
TYPED_ROW = '<p class="text">Bin in 10 Minuten da &lt;b&gt;</p>'


async def typed_on_phone(world: PanelWorld, transport: str) -> None:
    """The salesperson types ``TYPED`` to Maria on the phone; the transport delivers it twice."""
    if transport == "waha":
        assert world.waha is not None
        world.waha.faults(SESSION).duplicate_deliveries = 1
        world.waha.faults(SESSION).duplicate_new_event_id = True  # the route cannot tell them apart
        world.waha.type_on_phone(SESSION, f"{MARIA}@c.us", TYPED)
    else:
        await link_cloud_number(world)
        echo = {"id": "wamid.typed-on-phone", "type": "text", "text": {"body": TYPED}}
        await cloud_deliver(world, echo, from_phone=True)
        await cloud_deliver(world, echo, from_phone=True)
    await world.settle()


async def typed(world: PanelWorld) -> list[dict[str, Any]]:
    return [m for m in await world.messages() if m["text"] == TYPED]


@pytest.mark.parametrize("transport", ["waha", "cloud"])
async def test_a_message_typed_on_the_phone_is_logged_once_as_you(world: PanelWorld, transport: str) -> None:
    await typed_on_phone(world, transport)
    [stored] = await typed(world)
    assert stored["from_me"] is True
    note = transcript(world)
    assert note.count(TYPED_LINE) == 1
    panel = await panel_page(world)
    assert panel.count(TYPED_BUBBLE) == 1 and "<b>" not in panel.split(TYPED_BUBBLE)[1][:20]
    chat = await chat_page(world)
    assert chat.count(TYPED_ROW) == 1


async def test_a_phone_message_does_not_hide_a_waha_send_on_its_way(world: PanelWorld) -> None:
    assert world.waha is not None
    world.waha.type_on_phone(SESSION, f"{MARIA}@c.us", TYPED)
    await world.settle()
    form = {
        "person_id": world.persons["maria"],
        "client_ref": "ref-phone-00000001",
        "to": "+49 176 55501234",
        "account_id": 1,
        "region": "",
        "file_id": "",
        "text": "Hallo Maria",
    }
    answer = await world.client.post("/panel/send", data=form, headers=world.headers())
    assert answer.status_code == 200
    on_its_way = await panel_page(world)  # the send's echo is not stored yet: its outbox entry shows
    assert on_its_way.count(TYPED_BUBBLE) == 1
    assert 'data-key="o1"' in on_its_way and on_its_way.count("Hallo Maria</p>") == 1
    await world.settle()
    sent = await panel_page(world)
    assert sent.count(TYPED_BUBBLE) == 1 and sent.count("Hallo Maria</p>") == 1
    assert 'data-status="pending"' not in sent
    assert [m["text"] for m in world.waha.outbox(SESSION)] == ["Hallo Maria"]  # sent once, not claimed
