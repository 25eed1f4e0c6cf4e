"""Pipedrive's rate limits on the real Redis, counted by every process together: two limiters on one Redis
stand for two worker processes (and the last test runs real ones). The behaviour each limiter has alone is
in ``tests/pipedrive/test_ratelimit.py``, run on both limiters.

The limiters read one ``FakeClock``: a wait moves it at once, so nothing here waits on the real clock, and
what was sent when is counted on the clock the limiters read.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import multiprocessing
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from server.domain.errors import BudgetExhausted, Transient
from server.jobs.context import rate_limiter
from server.jobs.rate_limit_redis import RedisRateLimiter
from server.pipedrive.ratelimit import MemoryRateLimiter, RateScope, Sleep
from tests.pipedrive.fakes import FakeClock

SCOPE = RateScope(token_key="installation:7", company_key="1201")
LITE = 80  # the Lite plan's requests per 2 s, the limit a token starts with
SPENT = {"x-daily-ratelimit-token-remaining": "0"}

sent_at: contextvars.ContextVar[datetime] = contextvars.ContextVar("sent_at")


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def process(redis: Redis, clock: Callable[[], datetime], sleep: Sleep) -> RedisRateLimiter:
    """A limiter as one process has it. Each task remembers the time the limiter last read, so a send is
    counted at the time its slot was taken, not later when the task runs again."""

    def now() -> datetime:
        read = clock()
        sent_at.set(read)
        return read

    return RedisRateLimiter(redis, sleep=sleep, wall_clock=now)


class MustWait(Exception):
    """Raised by a ``sleep`` that stands for "the limiter asked this request to wait"."""


async def refuse_to_wait(seconds: float) -> None:
    raise MustWait(seconds)


def most_in_a_window(times: list[datetime], window: float) -> int:
    times = sorted(times)
    return max(
        sum(1 for t in times[i:] if t < start + timedelta(seconds=window)) for i, start in enumerate(times)
    )


async def test_two_processes_together_send_at_most_the_burst_limit_in_any_window(
    redis: Redis, clock: FakeClock
) -> None:
    one, two = process(redis, clock.now, clock.sleep), process(redis, clock.now, clock.sleep)

    async def send(limiter: RedisRateLimiter) -> datetime:
        await limiter.before_request(SCOPE)
        return sent_at.get()

    times = await asyncio.gather(*(send(limiter) for _ in range(100) for limiter in (one, two)))

    assert len(times) == 200
    assert most_in_a_window(times, 2.0) == LITE  # each process alone would have let 80 through
    assert max(times) - min(times) >= timedelta(seconds=2 * 2.1)  # 200 requests take three windows


async def test_only_one_of_two_processes_takes_a_window_s_last_slot(redis: Redis, clock: FakeClock) -> None:
    first = RedisRateLimiter(redis, sleep=refuse_to_wait, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=refuse_to_wait, wall_clock=clock.now)
    for _ in range(LITE - 1):
        await first.before_request(SCOPE)

    tries = await asyncio.gather(
        *(limiter.before_request(SCOPE) for _ in range(10) for limiter in (first, second)),
        return_exceptions=True,
    )

    assert sum(1 for outcome in tries if outcome is None) == 1
    assert all(isinstance(outcome, MustWait) and outcome.args == (2.1,) for outcome in tries if outcome)


async def test_a_learned_burst_limit_holds_for_the_other_process(redis: Redis, clock: FakeClock) -> None:
    first = RedisRateLimiter(redis, sleep=refuse_to_wait, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=refuse_to_wait, wall_clock=clock.now)
    await first.after_response(SCOPE, {"x-ratelimit-limit": "160"}, 200)  # a Growth plan

    for _ in range(159):
        await second.before_request(SCOPE)
    await first.before_request(SCOPE)

    with pytest.raises(MustWait):
        await second.before_request(SCOPE)


async def test_the_search_slots_are_shared(redis: Redis, clock: FakeClock) -> None:
    first = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    for _ in range(6):
        await first.before_request(SCOPE, search=True)
    clock.elapsed += 0.5
    for _ in range(4):
        await second.before_request(SCOPE, search=True)
    await second.before_request(SCOPE)  # other calls still go at once
    assert clock.sleeps == []

    await second.before_request(SCOPE, search=True)  # the eleventh search in 2 s

    assert clock.sleeps == [1.5]


async def test_a_429_seen_by_one_process_holds_the_other(redis: Redis, clock: FakeClock) -> None:
    first = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)

    await first.after_response(SCOPE, {"x-ratelimit-reset": "1.5"}, 429)
    await second.before_request(SCOPE)

    assert clock.sleeps == [1.5]


async def test_a_search_window_spent_for_one_process_holds_the_other_s_searches_only(
    redis: Redis, clock: FakeClock
) -> None:
    first = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    headers = {"x-ratelimit-limit": "10", "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1.25"}

    await first.after_response(SCOPE, headers, 200, search=True)
    await second.before_request(SCOPE)
    assert clock.sleeps == []
    await second.before_request(SCOPE, search=True)

    assert clock.sleeps == [1.25]


async def test_a_spent_budget_seen_by_one_process_stops_the_other(redis: Redis, clock: FakeClock) -> None:
    first = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)

    await first.after_response(SCOPE, SPENT, 429, budget_spent=True)
    clock.elapsed += 600
    with pytest.raises(BudgetExhausted) as stopped:
        await second.before_request(RateScope(token_key="installation:8", company_key=SCOPE.company_key))

    assert stopped.value.retry_after == 3000  # the probe an hour after the first process learned it
    await second.before_request(RateScope(token_key="installation:9", company_key="1202"))  # another company


async def test_exactly_one_process_sends_the_probe_and_its_answer_frees_both(
    redis: Redis, clock: FakeClock
) -> None:
    first = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    await first.after_response(SCOPE, SPENT, 200)
    clock.elapsed += 3600

    tries = await asyncio.gather(
        *(limiter.before_request(SCOPE) for _ in range(10) for limiter in (first, second)),
        return_exceptions=True,
    )

    assert sum(1 for outcome in tries if outcome is None) == 1
    waiting = [outcome for outcome in tries if outcome is not None]
    assert all(isinstance(outcome, BudgetExhausted) and outcome.retry_after == 60 for outcome in waiting)
    await second.after_response(SCOPE, {"x-daily-ratelimit-token-remaining": "29998"}, 200)  # the answer
    await first.before_request(SCOPE)
    await second.before_request(SCOPE)


async def test_a_probe_still_refused_holds_both_processes_another_hour(
    redis: Redis, clock: FakeClock
) -> None:
    first = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    second = RedisRateLimiter(redis, sleep=clock.sleep, wall_clock=clock.now)
    await first.after_response(SCOPE, SPENT, 200)
    clock.elapsed += 3600
    await first.before_request(SCOPE)  # the probe

    await first.after_response(SCOPE, SPENT, 429, budget_spent=True)

    with pytest.raises(BudgetExhausted) as stopped:
        await second.before_request(SCOPE)
    assert stopped.value.retry_after == 3600


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens on it once the socket is closed


async def test_unreachable_redis_refuses_the_request_by_name_instead_of_sending_it_unlimited(
    clock: FakeClock,
) -> None:
    gone = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    limiter = RedisRateLimiter(gone, sleep=clock.sleep, wall_clock=clock.now)

    with pytest.raises(Transient) as refused:
        await limiter.before_request(SCOPE)
    await limiter.after_response(SCOPE, {"x-ratelimit-remaining": "3"}, 200)  # the answer is kept

    assert refused.value.reason == "rate_limit_unavailable"
    assert "Redis" in refused.value.message
    await gone.aclose()


async def test_with_redis_every_process_counts_on_it(redis: Redis) -> None:
    assert isinstance(rate_limiter(None), MemoryRateLimiter)  # one process: its own count
    shared = rate_limiter(redis)
    assert isinstance(shared, RedisRateLimiter)

    await shared.before_request(SCOPE)

    assert await redis.zcard("wapipe:rate-limit:installation:7:general:sent") == 1


# --- real processes -----------------------------------------------------------------------------------

PROCESSES = 4
TRIES = 40  # per process, at once: 160 requests for the 80 slots of one window
LOG = "test:rate-limit-log"
WAIT_S = 20  # a generous bound on a child's life: the test fails instead of hanging


def hammer(redis_url: str, name: str, start: Any) -> None:
    """The child process (forked): ``TRIES`` requests at once on the wall clock; each either goes (its send
    time logged) or is asked to wait (the wait logged, and it stops there)."""
    asyncio.events._set_running_loop(None)  # forked from inside the test's running loop
    asyncio.run(_hammer(redis_url, name, start))


async def _hammer(redis_url: str, name: str, start: Any) -> None:
    redis = Redis.from_url(redis_url)
    await redis.ping()  # connected before the start, so the processes begin together
    limiter = process(redis, lambda: datetime.now(UTC), refuse_to_wait)  # asked to wait: it stops there
    start.wait(WAIT_S)

    async def one() -> dict[str, Any]:
        try:
            await limiter.before_request(SCOPE)
        except MustWait as asked:
            return {"process": name, "wait": asked.args[0], "at": sent_at.get().timestamp()}
        return {"process": name, "sent": sent_at.get().timestamp()}

    entries = await asyncio.gather(*(one() for _ in range(TRIES)))
    await redis.rpush(LOG, *(json.dumps(entry) for entry in entries))  # type: ignore[misc]
    await redis.aclose()


@pytest.fixture
def children(redis_url: str) -> Iterator[list[Any]]:
    context = multiprocessing.get_context("fork")
    start = context.Barrier(PROCESSES)
    processes = [
        context.Process(target=hammer, args=(redis_url, f"worker-{n}", start), daemon=True)
        for n in range(PROCESSES)
    ]
    yield processes
    for child in processes:
        if child.is_alive():
            child.kill()
            child.join()


async def test_four_worker_processes_together_take_exactly_one_window_s_slots(
    redis_url: str, children: list[Any]
) -> None:
    began = time.monotonic()
    for child in children:
        child.start()
    for child in children:
        while child.is_alive():
            assert time.monotonic() - began < WAIT_S, "a child did not end"
            await asyncio.sleep(0.01)
        assert child.exitcode == 0
    log = [json.loads(entry) for entry in SyncRedis.from_url(redis_url).lrange(LOG, 0, -1)]  # type: ignore[union-attr]

    sent = sorted(entry["sent"] for entry in log if "sent" in entry)
    waits = [entry for entry in log if "wait" in entry]
    assert len(log) == PROCESSES * TRIES
    assert len(sent) == LITE, "the four processes together sent one window's limit, no more"
    assert len({entry["process"] for entry in log if "sent" in entry}) > 1, "more than one process sent"
    assert sent[-1] - sent[0] < 2.0  # all in one window on the real clock
    for asked in waits:  # each was told to wait until the first send leaves the window
        assert asked["wait"] == pytest.approx(sent[0] + 2.1 - asked["at"], abs=2e-6)
