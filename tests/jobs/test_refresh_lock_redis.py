"""The Pipedrive refresh lock on the real Redis: one holder, freed only by its holder, gone after its time
to live (Redis's clock: the test checks the time to live Redis was given and stands in for its passing by
removing the key), and a waiter that gives up with a named error after its bounded wait."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from server.domain.errors import Transient
from server.jobs.context import refresh_locks
from server.jobs.refresh_lock_redis import LOCK_PREFIX, RedisRefreshLocks, RefreshLockTimings
from server.pipedrive.tokens import LocalRefreshLocks
from server.settings import Settings

KEY = "installation:7"
TIMINGS = RefreshLockTimings(
    ttl=timedelta(seconds=30), wait=timedelta(seconds=2), poll=timedelta(seconds=0.5)
)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


class Waits:
    """Stands in for ``asyncio.sleep``: records each wait and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await asyncio.sleep(0)


async def test_only_one_process_holds_the_lock(redis: Redis) -> None:
    first, second = RedisRefreshLocks(redis, TIMINGS), RedisRefreshLocks(redis, TIMINGS)

    held = await first.try_acquire(KEY)

    assert held is not None
    assert await second.try_acquire(KEY) is None
    assert await first.try_acquire(KEY) is None  # not re-entrant either
    assert await second.try_acquire("installation:8") is not None  # other installations are free


async def test_redis_is_given_the_lock_time_to_live(redis: Redis) -> None:
    locks = RedisRefreshLocks(redis, TIMINGS)

    await locks.try_acquire(KEY)

    ttl = await redis.pttl(LOCK_PREFIX + KEY)
    assert 29_000 < ttl <= 30_000


async def test_only_the_holder_releases_the_lock(redis: Redis) -> None:
    first, second = RedisRefreshLocks(redis, TIMINGS), RedisRefreshLocks(redis, TIMINGS)
    held = await first.try_acquire(KEY)
    assert held is not None

    assert await second.release(KEY, "someone-else") is False
    assert await second.try_acquire(KEY) is None  # still held

    assert await first.release(KEY, held) is True
    assert await second.try_acquire(KEY) is not None


async def test_an_expired_lock_is_taken_over_and_its_old_holder_cannot_free_it(redis: Redis) -> None:
    first, second = RedisRefreshLocks(redis, TIMINGS), RedisRefreshLocks(redis, TIMINGS)
    stale = await first.try_acquire(KEY)
    assert stale is not None
    await redis.delete(LOCK_PREFIX + KEY)  # its time to live passed on Redis's clock

    fresh = await second.try_acquire(KEY)

    assert fresh is not None
    assert await first.release(KEY, stale) is False
    assert await redis.get(LOCK_PREFIX + KEY) == fresh.encode()


async def test_hold_releases_the_lock_even_when_the_refresh_fails(redis: Redis) -> None:
    locks = RedisRefreshLocks(redis, TIMINGS)

    async def failing_refresh() -> None:
        async with locks.hold(KEY):
            assert await redis.exists(LOCK_PREFIX + KEY) == 1
            raise RuntimeError("refresh failed")

    with pytest.raises(RuntimeError):
        await failing_refresh()

    assert await redis.exists(LOCK_PREFIX + KEY) == 0


async def test_a_waiter_takes_the_lock_once_its_holder_lets_go(redis: Redis) -> None:
    holder = RedisRefreshLocks(redis, TIMINGS)
    held = await holder.try_acquire(KEY)
    assert held is not None
    waits = Waits()

    async def let_go_on_the_second_look(seconds: float) -> None:
        await waits(seconds)
        if len(waits.seconds) == 2:
            assert held is not None
            await holder.release(KEY, held)

    waiter = RedisRefreshLocks(redis, TIMINGS, sleep=let_go_on_the_second_look)
    async with waiter.hold(KEY):
        assert await redis.exists(LOCK_PREFIX + KEY) == 1

    assert waits.seconds == [0.5, 0.5]


async def test_a_waiter_gives_up_after_its_bounded_wait_with_a_named_error(redis: Redis) -> None:
    assert await RedisRefreshLocks(redis, TIMINGS).try_acquire(KEY) is not None
    waits = Waits()
    waiter = RedisRefreshLocks(redis, TIMINGS, sleep=waits)

    async def refresh() -> None:
        async with waiter.hold(KEY):
            pytest.fail("the lock is held by someone else")

    with pytest.raises(Transient) as caught:
        await refresh()

    assert caught.value.reason == "refresh_lock_busy"
    assert "refreshing" in caught.value.message
    assert waits.seconds == [0.5] * 4  # 2 s of waiting, a look every 0.5 s


async def test_with_redis_the_processes_share_a_redis_lock_timed_by_the_settings(
    redis: Redis, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(refresh_lock_ttl=12, refresh_lock_wait=1, refresh_lock_poll=0.25)

    assert isinstance(refresh_locks(settings, None), LocalRefreshLocks)  # one process: its own lock
    locks = refresh_locks(settings, redis)
    assert isinstance(locks, RedisRefreshLocks)
    assert await locks.try_acquire(KEY) is not None
    assert 11_000 < await redis.pttl(LOCK_PREFIX + KEY) <= 12_000
