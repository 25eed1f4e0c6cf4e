"""The WAHA adapter against the sandbox's fault switches: every fault ends in the state the engine needs."""

from __future__ import annotations

import json
from datetime import datetime
from functools import reduce

import pytest

from sandbox.waha import SandboxState
from server.domain.errors import GatewayUnavailable
from server.domain.whatsapp import (
    Delivery,
    MediaKind,
    MessageOrigin,
    OutboundMedia,
    OutboundMessage,
    SessionStatus,
    advance,
)
from server.whatsapp.webhook_bodies import WAHA, delivery_key
from tests.whatsapp.waha_sandbox_world import (
    ACCOUNT,
    ANA,
    JONAS,
    World,
    open_world,
    sessions,
    statuses,
)

CUSTOMER = "4917612345678"
TEXT = OutboundMessage(client_ref="outbox-1", to=f"+{CUSTOMER}", text="Your order shipped")


async def test_duplicate_deliveries_with_the_same_event_id(linked: World) -> None:
    linked.sim.faults(ACCOUNT).duplicate_deliveries = 2
    linked.sim.receive(ACCOUNT, JONAS, "once")
    await linked.sim.settle()
    bodies = [r.body for r in linked.unseen]
    assert len(bodies) == 3 and len({delivery_key(WAHA, body) for body in bodies}) == 1
    messages = await linked.messages()
    assert len(messages) == 3 and len({m.key for m in messages}) == 1


async def test_duplicates_under_new_event_ids(linked: World) -> None:
    linked.sim.faults(ACCOUNT).duplicate_new_event_id = True
    linked.sim.receive(ACCOUNT, JONAS, "once")
    await linked.sim.settle()
    event_ids = {json.loads(r.body)["id"] for r in linked.unseen}
    assert len(event_ids) == 2  # the inbox stores both deliveries...
    messages = await linked.messages()
    assert len(messages) == 2 and len({m.key for m in messages}) == 1  # ...the message table one row


async def test_lid_and_phone_twins_are_one_message(linked: World) -> None:
    linked.sim.faults(ACCOUNT).lid_twins = True
    linked.sim.receive(ACCOUNT, ANA, "Bom dia")
    phone_copy, lid_copy = await linked.messages()
    assert phone_copy.transport_id is not None and lid_copy.transport_id is not None
    assert "@c.us_" in phone_copy.transport_id and "@lid_" in lid_copy.transport_id
    assert phone_copy.key == lid_copy.key
    ana_lid = f"{linked.sim.contact_lids[ANA]}@lid"
    for copy in (phone_copy, lid_copy):  # both spell the chat the same way once SenderAlt is read
        assert (copy.chat.chat_key, copy.chat.lid) == (f"{ANA}@s.whatsapp.net", ana_lid)


@pytest.mark.parametrize(
    ("media", "expected"),
    [
        (None, [Delivery.READ, Delivery.DELIVERED, Delivery.SENT]),
        (
            OutboundMedia(MediaKind.VOICE, "audio/ogg; codecs=opus", data=b"OggS voice"),
            [Delivery.PLAYED, Delivery.READ, Delivery.DELIVERED, Delivery.SENT],
        ),
    ],
)
async def test_acks_out_of_order_fold_to_the_highest(
    linked: World, media: OutboundMedia | None, expected: list[Delivery]
) -> None:
    linked.sim.faults(ACCOUNT).acks_out_of_order = True
    message = TEXT if media is None else OutboundMessage(client_ref="v", to=f"+{CUSTOMER}", media=media)
    result = await linked.waha.send(ACCOUNT, message)
    await linked.sim.elapse(10)
    changed = statuses(await linked.events())
    assert [s.status for s in changed] == expected and {s.key for s in changed} == {result.key}
    assert reduce(lambda current, s: advance(current, s.status), changed, None) is expected[0]


async def test_ack_without_a_prior_message(linked: World) -> None:
    linked.sim.set_ack(ACCOUNT, f"true_{CUSTOMER}@c.us_3EB0UNSEEN0000", 3)
    [status] = statuses(await linked.events())
    assert (status.key, status.status, status.recipient) == (
        f"{ACCOUNT}/out/3EB0UNSEEN0000",
        Delivery.READ,
        f"{CUSTOMER}@s.whatsapp.net",
    )


async def test_error_ack(linked: World) -> None:
    result = await linked.waha.send(ACCOUNT, TEXT)
    await linked.events()
    linked.sim.set_ack(ACCOUNT, result.wa_message_id, -1)
    [failed] = statuses(await linked.events())
    assert failed.status is Delivery.FAILED and failed.key == result.key and failed.reason == "gateway_error"


async def test_offline_gap_only_shows_up_in_history(linked: World) -> None:
    last_seen = linked.now()
    linked.sim.start_offline_gap(ACCOUNT)
    linked.sim.receive(ACCOUNT, JONAS, "are you there?")
    await linked.sim.elapse(60)
    linked.sim.receive(ACCOUNT, CUSTOMER, "hello?")
    linked.sim.end_offline_gap(ACCOUNT)
    events = await linked.events()
    assert [c.status for c in sessions(events)] == [SessionStatus.STARTING, SessionStatus.CONNECTED]
    assert len(events) == 2  # no message webhook for the gap
    batch = await linked.waha.history(ACCOUNT, None, since=last_seen)
    assert [m.text for m in batch.messages] == ["hello?", "are you there?"]
    assert all(m.origin is MessageOrigin.CATCHUP and not m.from_me for m in batch.messages)
    assert {m.chat.chat_key for m in batch.messages} == {
        f"{JONAS}@s.whatsapp.net",
        f"{CUSTOMER}@s.whatsapp.net",
    }


@pytest.mark.parametrize(("failure", "reason"), [("500", "gateway_unavailable"), ("429", "rate_limited")])
async def test_send_fails_after_delivery(linked: World, failure: str, reason: str) -> None:
    started = linked.now()
    linked.sim.faults(ACCOUNT).send_failures = [failure]
    with pytest.raises(GatewayUnavailable) as caught:
        await linked.waha.send(ACCOUNT, TEXT)
    assert caught.value.maybe_sent and caught.value.reason == reason
    await assert_found_without_resending(linked, started)


async def test_send_times_out_after_delivery() -> None:
    async for world in open_world(SandboxState(send_timeout_seconds=30), client_timeout=0.02):
        await world.link()
        started = world.now()
        world.sim.faults(ACCOUNT).send_failures = ["timeout"]
        with pytest.raises(GatewayUnavailable) as caught:
            await world.waha.send(ACCOUNT, TEXT)
        assert caught.value.maybe_sent
        await assert_found_without_resending(world, started)


async def assert_found_without_resending(world: World, started: datetime) -> None:
    [reached] = world.sim.outbox(ACCOUNT)  # the customer has it
    [echo] = await world.messages()  # and the echo came as usual
    assert echo.from_api
    found = await world.waha.find_sent(ACCOUNT, TEXT, since=started)
    assert found is not None and found.transport_id == reached["message_id"] and found.key == echo.key
    assert len(world.sim.outbox(ACCOUNT)) == 1  # nothing was sent twice


async def test_failing_receiver_gets_the_same_delivery_later(linked: World) -> None:
    linked.receiver.fail_next = 2
    linked.sim.receive(ACCOUNT, JONAS, "retry me")
    await linked.sim.settle()
    assert len(linked.unseen) == 1
    event_ms = linked.sim.clock.now_ms()
    await linked.sim.elapse(3.9)  # first retry: 2¹ × delaySeconds, with up to 20 % jitter
    assert len(linked.unseen) == 1
    await linked.sim.elapse(4 * 1.2 - 3.9)
    assert len(linked.unseen) == 2
    await linked.sim.elapse(8 * 1.2)  # exponential: then 2² × delaySeconds
    attempts = linked.unseen
    assert len(attempts) == 3
    assert len({a.body for a in attempts}) == 1  # the same signed bytes each time
    assert len({a.headers["x-webhook-request-id"] for a in attempts}) == 1  # and the same headers
    assert [int(a.headers["x-webhook-timestamp"]) for a in attempts] == [event_ms] * 3
    assert linked.sim.clock.now_ms() - event_ms >= 12_000
    messages = await linked.messages()  # each late attempt still verifies: its event is recent enough
    assert len(messages) == 3 and len({m.key for m in messages}) == 1
    assert [d.ok for d in linked.sim.deliveries[-3:]] == [False, False, True]
