"""The inbound path end to end: the WAHA sandbox's signed webhooks → our route → stored delivery → job →
inbox rows. Faults on: every message is stored once and every status ends at the highest one reached."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from server.domain.whatsapp import MediaKind, OutboundMedia, OutboundMessage
from server.jobs.inbound import catch_up_account
from server.jobs.sessions import watch_sessions
from server.settings import Settings
from server.storage.tables import WhatsAppAccount
from tests.web.inbound_world import LINKED_NUMBER, SESSION, InboundWorld, inbound_world

CUSTOMER = "4917655501234"


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[InboundWorld]:
    async with inbound_world(make_settings(public_url="http://wapipe.test")) as world:
        await world.resources.transports["waha"].connect(SESSION)
        await world.waha.elapse(2)  # the session starts and shows its QR code
        world.waha.scan(SESSION, LINKED_NUMBER, "Anna Admin")
        await world.settle()
        yield world


async def test_linking_records_the_number_and_the_connected_session(world: InboundWorld) -> None:
    [account] = await world.rows(WhatsAppAccount)
    assert account["status"] == "connected"
    assert account["e164"] == "+" + LINKED_NUMBER
    assert account["display_name"] == "Anna Admin"


async def test_a_customer_message_is_stored_once(world: InboundWorld) -> None:
    world.waha.receive(SESSION, CUSTOMER, "Hello <b>there</b>", push_name="Maria")
    await world.settle()
    [message] = await world.messages()
    assert message["text"] == "Hello <b>there</b>"
    assert message["from_me"] is False
    assert message["origin"] == "live"
    [chat] = await world.chats()
    assert chat["e164"] == "+" + CUSTOMER
    assert chat["display_name"] == "Maria"


async def test_duplicates_and_lid_twins_store_each_message_once(world: InboundWorld) -> None:
    faults = world.waha.faults(SESSION)
    faults.duplicate_deliveries = 2
    faults.duplicate_new_event_id = True
    faults.lid_twins = True
    for text in ("one", "two", "three"):
        world.waha.receive(SESSION, CUSTOMER, text)
    await world.settle()
    messages = await world.messages()
    assert sorted(m["text"] for m in messages) == ["one", "three", "two"]
    events = await world.events()
    assert len(events) > 3  # the redeliveries did arrive ...
    assert all(e["state"] == "processed" for e in events)  # ... and were absorbed
    phone_chats = [c for c in await world.chats() if c["e164"] == "+" + CUSTOMER]
    assert len(phone_chats) == 1
    assert {m["chat_id"] for m in messages} == {phone_chats[0]["id"]}


async def test_statuses_end_at_the_highest_reached_with_acks_out_of_order(world: InboundWorld) -> None:
    world.waha.faults(SESSION).acks_out_of_order = True
    transport = world.resources.transports["waha"]
    text = await transport.send(SESSION, OutboundMessage(client_ref="c-1", to="+" + CUSTOMER, text="Hi!"))
    voice = await transport.send(
        SESSION,
        OutboundMessage(
            client_ref="c-2",
            to="+" + CUSTOMER,
            media=OutboundMedia(kind=MediaKind.VOICE, mime="audio/ogg; codecs=opus", data=b"OggS-voice"),
        ),
    )
    await world.settle()
    await world.waha.elapse(12)
    await world.settle()
    by_key = {m["message_key"]: m for m in await world.messages()}
    assert by_key[text.key]["status"] == "read"
    assert by_key[voice.key]["status"] == "played"
    assert by_key[text.key]["from_me"] is True


async def test_a_message_typed_on_the_linked_phone_is_stored(world: InboundWorld) -> None:
    world.waha.type_on_phone(SESSION, f"{CUSTOMER}@c.us", "Sent from my phone")
    await world.settle()
    [message] = await world.messages()
    assert message["from_me"] is True
    assert message["text"] == "Sent from my phone"


async def test_messages_missed_while_offline_are_caught_up_after_reconnect(world: InboundWorld) -> None:
    world.waha.receive(SESSION, CUSTOMER, "before the gap")
    await world.settle()
    world.waha.start_offline_gap(SESSION)
    world.waha.receive(SESSION, CUSTOMER, "during the gap 1")
    world.waha.receive(SESSION, CUSTOMER, "during the gap 2")
    await world.settle()
    assert [m["text"] for m in await world.messages()] == ["before the gap"]
    world.waha.end_offline_gap(SESSION, reconnect=True)
    await world.settle()
    messages = {m["text"]: m for m in await world.messages()}
    assert set(messages) == {"before the gap", "during the gap 1", "during the gap 2"}
    assert messages["during the gap 1"]["origin"] == "catchup"
    assert messages["before the gap"]["origin"] == "live"


async def test_a_logout_shows_the_number_disconnected(world: InboundWorld) -> None:
    world.waha.phone_logout(SESSION)
    await world.settle()
    [account] = await world.rows(WhatsAppAccount)
    # WAHA reports a device removed on the phone as FAILED until the number is linked again.
    assert (account["status"], account["status_detail"]) == ("failed", "FAILED")


async def test_the_session_watcher_notices_a_logout_that_sent_no_webhook(world: InboundWorld) -> None:
    world.waha.faults(SESSION).silent = True
    world.waha.phone_logout(SESSION)
    await world.settle()
    [account] = await world.rows(WhatsAppAccount)
    assert account["status"] == "connected"  # nothing told us yet
    result = await watch_sessions(world.resources.queue.ctx)  # type: ignore[attr-defined]
    assert result.startswith("1 checked")
    [account] = await world.rows(WhatsAppAccount)
    assert account["status"] == "failed"


async def test_the_watchdog_recovers_what_a_silent_session_did_not_deliver(world: InboundWorld) -> None:
    world.waha.receive(SESSION, CUSTOMER, "delivered")
    await world.settle()
    world.waha.faults(SESSION).silent = True
    world.waha.receive(SESSION, CUSTOMER, "never pushed")
    await world.settle()
    assert [m["text"] for m in await world.messages()] == ["delivered"]
    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    assert await catch_up_account(ctx, world.account.id, "watchdog") == "1 new, 1 already stored"
    assert {m["text"] for m in await world.messages()} == {"delivered", "never pushed"}
    [account] = await world.rows(WhatsAppAccount)
    assert "1 messages missed by webhooks were recovered" in account["status_detail"]
