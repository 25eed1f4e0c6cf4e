"""Each process beats on its own: a process that stops cleanly leaves the list at once, a killed one stays
(the status page shows it as not beating) until it has been silent for a day; the waits are the test's."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from server.domain.clock import ControlledClock
from server.jobs.liveness import Liveness, silent_before, start_liveness
from server.storage.engine import make_async_engine
from server.storage.heartbeats import SqlHeartbeatStore

EVERY = timedelta(seconds=15)


async def test_every_process_beats_on_its_own_and_a_clean_stop_leaves_the_list(migrated_sqlite: str) -> None:
    engine = make_async_engine(migrated_sqlite)
    clock = ControlledClock()
    heartbeats = SqlHeartbeatStore(engine)
    beats = asyncio.Queue[float]()

    async def wait(seconds: float) -> None:  # each beat's wait, released by the test
        beats.put_nowait(seconds)
        await asyncio.Event().wait()

    try:
        killed = Liveness(heartbeats, "worker:host-a:11", every=EVERY, clock=clock)
        await killed.beat()  # it beat once, then was killed: it never beats or leaves again
        clock.advance(60)
        running = Liveness(heartbeats, "worker:host-b:12", every=EVERY, clock=clock, sleep=wait)
        stop = start_liveness(running)
        assert await asyncio.wait_for(beats.get(), timeout=5) == 15.0
        seen = await heartbeats.last_seen()
        assert set(seen) == {"worker:host-a:11", "worker:host-b:12"}
        not_beating = [name for name, at in seen.items() if at < silent_before(clock.now(), EVERY)]
        assert not_beating == ["worker:host-a:11"]

        await stop()  # a clean stop: it leaves the list at once
        assert set(await heartbeats.last_seen()) == {"worker:host-a:11"}

        clock.advance(timedelta(days=1).total_seconds())  # a day later another process beats
        await Liveness(heartbeats, "worker:host-c:13", every=EVERY, clock=clock).beat()
        assert set(await heartbeats.last_seen()) == {"worker:host-c:13"}  # the killed one is forgotten
    finally:
        await engine.dispose()
