"""Catch-up after a gap, end to end over the WAHA sandbox: it reads from before the gap even when a live
message was stored first, which a catch-up starting from the newest stored message would skip. The
watchdog's timed catch-up waits a day here (and the day's beat is at midnight UTC, far from the test's
noon), so only the catch-ups a test asks for run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from server.jobs.inbound import catch_up_account
from server.settings import Settings
from server.storage.tables import WhatsAppAccount
from tests.web.inbound_world import LINKED_NUMBER, SESSION, InboundWorld, inbound_world
from tests.world import to_next_noon_utc

CUSTOMER = "4917655501234"
MINUTE = 60


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[InboundWorld]:
    settings = make_settings(public_url="http://wapipe.test", catch_up_every=86_400)
    async with inbound_world(settings) as world:
        to_next_noon_utc(world.clock)
        await world.resources.transports["waha"].connect(SESSION)
        await world.waha.elapse(2)  # the session starts and shows its QR code
        world.waha.scan(SESSION, LINKED_NUMBER, "Anna Admin")
        await world.settle()  # linked: the first catch-up imports the history
        world.waha.receive(SESSION, CUSTOMER, "before the gap")
        await world.settle()
        yield world


async def elapse(world: InboundWorld, minutes: int) -> None:
    world.clock.advance(minutes * MINUTE)
    await world.settle()


async def origins(world: InboundWorld) -> dict[str, str]:
    return {m["text"]: m["origin"] for m in await world.messages()}


async def test_a_reconnect_catches_up_the_gap_after_a_live_message_came_first(world: InboundWorld) -> None:
    world.waha.start_offline_gap(SESSION)  # an hour offline: messages reach the phone's history only
    await elapse(world, 10)
    world.waha.receive(SESSION, CUSTOMER, "10 minutes into the gap")
    await elapse(world, 30)
    world.waha.receive(SESSION, CUSTOMER, "40 minutes into the gap")
    await elapse(world, 20)
    assert set(await origins(world)) == {"before the gap"}
    # Back online: a message arrives and is stored before the catch-up the reconnect queues runs.
    world.waha.end_offline_gap(SESSION, reconnect=False)
    world.waha.receive(SESSION, CUSTOMER, "right after the gap")
    await world.settle()
    world.waha.end_offline_gap(SESSION, reconnect=True)
    await world.settle()

    assert await origins(world) == {
        "before the gap": "live",
        "10 minutes into the gap": "catchup",
        "40 minutes into the gap": "catchup",
        "right after the gap": "live",
    }


async def test_the_watchdog_finds_what_was_missed_before_the_newest_message(world: InboundWorld) -> None:
    world.waha.faults(SESSION).silent = True  # the session looks fine; its webhooks never reach WaPipe
    await elapse(world, 10)
    world.waha.receive(SESSION, CUSTOMER, "never pushed")
    await elapse(world, 30)
    world.waha.faults(SESSION).silent = False
    world.waha.receive(SESSION, CUSTOMER, "pushed again")
    await elapse(world, 1)
    assert set(await origins(world)) == {"before the gap", "pushed again"}

    ctx = {**world.resources.queue.ctx, "job_try": 1}  # type: ignore[attr-defined]
    assert await catch_up_account(ctx, world.account.id, "watchdog") == "1 new, 2 already stored"
    assert (await origins(world))["never pushed"] == "catchup"
    [account] = await world.rows(WhatsAppAccount)
    assert "1 messages missed by webhooks were recovered" in account["status_detail"]
