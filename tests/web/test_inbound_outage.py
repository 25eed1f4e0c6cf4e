"""WaPipe unreachable for 30 minutes: WAHA's retries (the same signed bytes and headers, so the event's own
timestamp) bring every event later, and each lands once in WaPipe's inbox. The history catch-up, which
would find the messages on its own, waits a day here, so the webhooks alone carry them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from server.settings import Settings
from tests.web.inbound_world import LINKED_NUMBER, SESSION, InboundWorld, inbound_world

CUSTOMER = "4917655501234"
MINUTE = 60


class Unreachable(httpx.AsyncBaseTransport):
    """WaPipe's host refusing connections."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[InboundWorld]:
    settings = make_settings(public_url="http://wapipe.test", catch_up_every=86_400)
    async with inbound_world(settings) as world:
        await world.resources.transports["waha"].connect(SESSION)
        await world.waha.elapse(2)  # the session starts and shows its QR code
        world.waha.scan(SESSION, LINKED_NUMBER, "Anna Admin")
        await world.settle()
        yield world


async def elapse(world: InboundWorld, seconds: float) -> None:
    """Move WaPipe's clock and the gateway's together, running each WAHA retry at its time and WaPipe's
    jobs after it."""
    assert world.waha is not None
    sandbox = world.waha
    target = sandbox.clock.now_ms() + round(seconds * 1000)
    while (due := sandbox.scheduler.next_due_ms()) is not None and due <= target:
        world.clock.advance(max(0, due - sandbox.clock.now_ms()) / 1000)
        await world.settle()
    world.clock.advance(max(0, target - sandbox.clock.now_ms()) / 1000)
    await world.settle()


async def test_every_event_lands_once_after_thirty_minutes_unreachable(world: InboundWorld) -> None:
    assert world.waha is not None
    sandbox = world.waha
    reachable = sandbox.webhooks.client
    stored_before = len(await world.events())
    async with httpx.AsyncClient(transport=Unreachable()) as down:
        sandbox.webhooks.client = down
        started_ms = sandbox.clock.now_ms()
        texts = ["first, at once", "second, 5 minutes in", "third, 20 minutes in", "fourth, 29 minutes in"]
        sandbox.receive(SESSION, CUSTOMER, texts[0])
        await elapse(world, 5 * MINUTE)
        sandbox.receive(SESSION, CUSTOMER, texts[1])
        await elapse(world, 15 * MINUTE)
        sandbox.receive(SESSION, CUSTOMER, texts[2])
        await elapse(world, 9 * MINUTE)
        sandbox.receive(SESSION, CUSTOMER, texts[3])
        await elapse(world, 1 * MINUTE)
        assert 30 * MINUTE <= (sandbox.clock.now_ms() - started_ms) / 1000 < 30 * MINUTE + 10
        sent = [d for d in sandbox.deliveries if d.event == "message.any" and d.at_ms >= started_ms]
        assert {d.attempt for d in sent} >= set(range(1, 9))  # WAHA kept trying all along...
        assert all(d.error is not None and "ConnectError" in d.error for d in sent)
        assert len(await world.events()) == stored_before  # ...and nothing reached WaPipe
        sandbox.webhooks.client = reachable
    await elapse(world, 90 * MINUTE)

    deliveries = [d for d in sandbox.deliveries if d.event == "message.any" and d.at_ms >= started_ms]
    event_ids = {d.event_id for d in deliveries}
    assert len(event_ids) == 4
    for event_id in event_ids:
        attempts = [d for d in deliveries if d.event_id == event_id]
        assert [d.ok for d in attempts].count(True) == 1  # accepted once, so WAHA stopped retrying
        assert attempts[-1].ok
        assert len({tuple(sorted(d.headers.items())) for d in attempts}) == 1  # the first try's headers
    late = [d for d in deliveries if d.ok]
    # The retries that got through carry their event's time: those of the first three events, long past
    # the old ±5-minute window.
    ages = [(d.at_ms - int(d.headers["X-Webhook-Timestamp"])) / 1000 for d in late]
    assert sum(age > 5 * MINUTE for age in ages) == 3 and max(ages) > 30 * MINUTE

    stored = [e for e in await world.events() if e["event_key"].endswith(tuple(event_ids))]
    assert sorted(e["event_key"].rsplit(":", 1)[1] for e in stored) == sorted(event_ids)
    assert all(e["state"] == "processed" for e in stored)
    messages = [m for m in await world.messages() if m["text"] in texts]
    assert sorted(m["text"] for m in messages) == sorted(texts)
    assert {m["origin"] for m in messages} == {"live"}

    # A replay of a delivery WaPipe processed, hours later, is acknowledged and stores nothing new.
    count = len(await world.events())
    replay = late[0]
    answer = await world.client.post("/webhooks/waha", content=replay.body, headers=replay.headers)
    assert (answer.status_code, answer.json()) == (200, {"status": "duplicate"})
    await world.settle()
    assert len(await world.events()) == count
    assert len([m for m in await world.messages() if m["text"] in texts]) == 4
