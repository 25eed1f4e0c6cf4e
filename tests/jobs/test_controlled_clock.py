"""On a controlled clock, the in-process runner skips the time a deferral would take, in the same order."""

from __future__ import annotations

import asyncio
import itertools
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from arq import cron
from arq.worker import Retry, func

from server.domain.clock import ControlledClock, SystemClock
from server.jobs.context import job_timings
from server.jobs.inprocess import InProcessQueue
from server.jobs.timing import JobTimings
from server.settings import Mode, load_settings
from tests.job_deps import fake_deps

HOUR = 3600.0


async def stamp(ctx: dict[str, Any], label: str) -> None:
    ctx["runs"].append((label, ctx["clock"].now()))


async def retry_twice(ctx: dict[str, Any]) -> None:
    ctx["runs"].append(("try", ctx["clock"].now()))
    if ctx["job_try"] < 3:
        raise Retry(defer=HOUR)


def queue_on(clock: ControlledClock | SystemClock, *functions: Any, **options: Any) -> InProcessQueue:
    ctx: dict[str, Any] = {"runs": [], "clock": clock}
    return InProcessQueue(list(functions), ctx=ctx, clock=clock, poll_delay=0.02, **options)


async def test_deferred_jobs_run_at_their_clock_times_without_waiting() -> None:
    clock = ControlledClock()
    queue = queue_on(clock, stamp)
    start = clock.now()
    await queue.enqueue("stamp", "an hour", defer_by=timedelta(hours=1))
    await queue.enqueue("stamp", "a second", defer_by=timedelta(seconds=1))
    await queue.enqueue("stamp", "now")
    began = time.monotonic()
    async with asyncio.timeout(5):
        await queue.drain()
    assert time.monotonic() - began < 2  # an hour of deferral took no hour
    runs = queue.ctx["runs"]
    assert [label for label, _ in runs] == ["now", "a second", "an hour"]
    offsets = [(at - start).total_seconds() for _, at in runs]
    assert offsets[0] < 0.5
    assert 1 <= offsets[1] < 1.5
    assert HOUR <= offsets[2] < HOUR + 0.5
    assert clock.skipped >= timedelta(hours=1) - timedelta(seconds=0.5)


async def test_a_bounded_drain_leaves_later_jobs_queued_and_the_clock_short_of_them() -> None:
    clock = ControlledClock()
    queue = queue_on(clock, stamp)
    start = clock.now()
    await queue.enqueue("stamp", "a second", defer_by=timedelta(seconds=1))
    await queue.enqueue("stamp", "a minute", defer_by=timedelta(minutes=1))
    async with asyncio.timeout(5):
        await queue.drain(until=start + timedelta(seconds=30))
    assert [label for label, _ in queue.ctx["runs"]] == ["a second"]
    assert timedelta(seconds=1) <= clock.now() - start < timedelta(seconds=30)
    assert len(queue.pending()) == 1
    async with asyncio.timeout(5):
        await queue.drain()
    assert [label for label, _ in queue.ctx["runs"]] == ["a second", "a minute"]


async def test_retries_wait_their_delay_on_the_clock() -> None:
    clock = ControlledClock()
    queue = queue_on(clock, retry_twice)
    await queue.enqueue("retry_twice", job_id="r")
    async with asyncio.timeout(5):
        await queue.drain()
    times = [at for _, at in queue.ctx["runs"]]
    assert len(times) == 3
    gaps = [(later - earlier).total_seconds() for earlier, later in itertools.pairwise(times)]
    assert all(HOUR <= gap < HOUR + 0.5 for gap in gaps), gaps
    assert [o.outcome for o in queue.outcomes] == ["complete"]


async def test_time_is_not_skipped_while_a_job_runs() -> None:
    clock = ControlledClock()
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(ctx: dict[str, Any]) -> None:
        started.set()
        await release.wait()

    queue = queue_on(clock, func(slow, name="slow"), stamp)
    await queue.enqueue("slow")
    await queue.enqueue("stamp", "later", defer_by=timedelta(hours=1))
    drained = asyncio.create_task(queue.drain())
    await started.wait()
    for _ in range(10):  # drain's loop has its turns while the job runs
        await asyncio.sleep(0)
    assert clock.skipped == timedelta(0)  # the running job could still enqueue work due sooner
    release.set()
    async with asyncio.timeout(5):
        await drained
    assert clock.skipped >= timedelta(minutes=59)


async def test_the_system_clock_is_never_skipped() -> None:
    queue = queue_on(SystemClock(), stamp)
    enqueued = datetime.now(UTC)
    began = time.monotonic()
    await queue.enqueue("stamp", "soon", defer_by=timedelta(seconds=0.3))
    async with asyncio.timeout(5):
        await queue.drain()
    waited = time.monotonic() - began
    [(_, ran_at)] = queue.ctx["runs"]
    # The queue keeps its promise on its own clock (the wall clock) ...
    assert ran_at - enqueued >= timedelta(seconds=0.3)
    # ... and really waited: a skip would end in milliseconds. The monotonic clock may differ from the
    # wall clock by a little over 0.3 s (the wall clock is slewed), so it is not held to the exact figure.
    assert waited >= 0.25


async def test_cron_runs_missed_in_a_jump_are_one_run() -> None:
    clock = ControlledClock()
    queue = InProcessQueue(
        [stamp],
        [cron(stamp, name="tick", second=set(range(60)), run_at_startup=True, keep_result=0)],
        ctx={"runs": [], "clock": clock},
        clock=clock,
        poll_delay=0.02,
    )
    queue.ctx["runs"] = []
    await queue.enqueue("stamp", "after a day", defer_by=timedelta(days=1))
    async with asyncio.timeout(5):
        await queue.drain()
    ticks = [run for run in queue.outcomes if run.function == "tick"]
    assert 1 <= len(ticks) <= 3  # not one per second of the day that was skipped


def test_a_controlled_clock_moves_its_followers_and_never_goes_back() -> None:
    clock = ControlledClock()
    moved: list[float] = []
    clock.follow(moved.append)
    before = clock.now()
    clock.advance(90)
    assert moved == [90]
    assert timedelta(seconds=90) <= clock.now() - before < timedelta(seconds=91)
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError, match="does not go back"):
        clock.advance(-1)


def test_the_waits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAPIPE_SYNC_BURST_WINDOW", "1.25")
    monkeypatch.setenv("WAPIPE_RETRY_BASE", "7")
    monkeypatch.setenv("WAPIPE_CATCH_UP_EVERY", "600")
    monkeypatch.setenv("WAPIPE_CATCH_UP_BUDGET", "45")
    monkeypatch.setenv("WAPIPE_CATCH_UP_PAUSE", "0.25")
    chosen = job_timings(load_settings(mode=Mode.TEST))
    assert chosen.burst_window == timedelta(seconds=1.25)
    assert chosen.retry_base == timedelta(seconds=7)
    assert chosen.catch_up_every == timedelta(minutes=10)
    assert chosen.catch_up_budget == timedelta(seconds=45)
    assert chosen.catch_up_pause == timedelta(seconds=0.25)
    assert fake_deps().timings == JobTimings()  # dependencies built without settings get production's waits
    assert JobTimings().burst_window == timedelta(seconds=3.5)


def test_job_dependencies_without_a_clock_read_the_system_clock() -> None:
    assert abs(fake_deps().clock.now() - datetime.now(UTC)) < timedelta(seconds=1)
