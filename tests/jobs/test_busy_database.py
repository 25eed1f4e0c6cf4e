"""A job that meets a busy database (``StorageBusy``: a lock wait ran out, no pooled connection in time) is
retried with backoff from ``JobTimings`` by both runners, instead of failing (and keeping its job id taken
for as long as its result is kept: an hour by default)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from server.domain.clock import ControlledClock
from server.domain.errors import StorageBusy
from server.jobs.deps import job_ctx
from server.jobs.functions import FUNCTIONS, job
from server.jobs.inprocess import InProcessQueue
from server.jobs.timing import JobTimings
from server.storage.engine import BUSY
from tests.job_deps import fake_deps
from tests.jobs.conftest import MakeHarness

QUICK = JobTimings(retry_base=timedelta(milliseconds=10))  # the first retry's wait, from the settings


class BusyOutbox:
    """The outbox store of a database busy for the first ``busy`` reads; then the row is gone (sent)."""

    def __init__(self, busy: int, clock: ControlledClock | None = None) -> None:
        self.busy = busy
        self.clock = clock
        self.reads: list[float] = []  # the clock's time of each read (the controlled clock's)

    async def by_id(self, outbox_id: int) -> None:
        self.reads.append(self.clock.now().timestamp() if self.clock else 0.0)
        if len(self.reads) <= self.busy:
            raise StorageBusy(BUSY)
        return None


def send_deps(outbox: BusyOutbox, **changes: Any) -> dict[str, Any]:
    return job_ctx(fake_deps(outbox=outbox, installations=object(), **changes))


async def test_a_send_that_meets_a_busy_database_twice_is_retried_and_completes(
    make_harness: MakeHarness,
) -> None:
    outbox = BusyOutbox(busy=2)
    h = make_harness(FUNCTIONS, ctx=send_deps(outbox, timings=QUICK))
    assert await h.queue.enqueue("send_outbox", 7, job_id="send:7") is True
    await h.run()
    assert len(outbox.reads) == 3  # two busy tries, then the one that finds the row
    if isinstance(h.queue, InProcessQueue):
        [outcome] = h.queue.outcomes
        assert (outcome.job_id, outcome.outcome, outcome.tries) == ("send:7", "complete", 3)
        assert outcome.result == repr("nothing to do")
    else:  # the send job keeps no result: its id is free again at once
        assert await h.queue.redis.all_job_results() == []
        assert await h.queue.enqueue("send_outbox", 7, job_id="send:7") is True


async def test_retries_wait_the_settings_backoff_on_the_controlled_clock() -> None:
    """Production's timings: 2 s, then 4 s (doubling), each with at most a quarter more of jitter; the
    runner moves the controlled clock instead of sleeping."""
    clock = ControlledClock()
    outbox = BusyOutbox(busy=2, clock=clock)
    runner = InProcessQueue(FUNCTIONS, ctx=send_deps(outbox, clock=clock), clock=clock)
    await runner.enqueue("send_outbox", 7, job_id="send:7")
    async with asyncio.timeout(10):
        await runner.drain()
    first, second, third = outbox.reads
    assert 2.0 <= second - first <= 2.5
    assert 4.0 <= third - second <= 5.0
    assert [o.outcome for o in runner.outcomes] == ["complete"]
    assert runner.pending() == []


async def test_a_job_that_keeps_no_result_frees_its_id_once_the_retry_succeeds() -> None:
    calls: list[int] = []

    async def flaky(ctx: dict[str, Any], label: str) -> str:
        calls.append(ctx["job_try"])
        if ctx["job_try"] < 3:
            raise StorageBusy(BUSY)
        return label

    clock = ControlledClock()
    runner = InProcessQueue(
        [job(flaky, name="flaky", keep_result=0)], ctx=job_ctx(fake_deps(clock=clock)), clock=clock
    )
    await runner.enqueue("flaky", "a", job_id="flaky:1")
    async with asyncio.timeout(10):
        await runner.drain()
    assert calls == [1, 2, 3]
    assert [(o.outcome, o.tries) for o in runner.outcomes] == [("complete", 3)]
    assert await runner.enqueue("flaky", "b", job_id="flaky:1") is True  # the id is free again


async def test_a_busy_database_is_retried_only_until_max_tries() -> None:
    calls: list[int] = []

    async def always_busy(ctx: dict[str, Any]) -> None:
        calls.append(ctx["job_try"])
        raise StorageBusy(BUSY)

    clock = ControlledClock()
    runner = InProcessQueue(
        [job(always_busy, name="always_busy", max_tries=3)], ctx=job_ctx(fake_deps(clock=clock)), clock=clock
    )
    await runner.enqueue("always_busy")
    async with asyncio.timeout(10):
        await runner.drain()
    assert calls == [1, 2, 3]
    assert [o.outcome for o in runner.outcomes] == ["max_tries"]


def test_every_queued_job_retries_a_busy_database() -> None:
    unwrapped = [f.name for f in FUNCTIONS if not hasattr(f.coroutine, "__wrapped__")]
    assert unwrapped == []
