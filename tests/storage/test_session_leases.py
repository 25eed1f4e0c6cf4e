"""The session lease rules, on every store: the database's (SQLite and PostgreSQL, on a clock the test
moves) and Redis's (the real Redis, whose expiry is its own clock: the test checks the time to live Redis
was given and stands in for its passing by removing the key)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.domain.clock import ControlledClock
from server.domain.ports.sessions import SessionLease, SessionLeases
from server.jobs.session_leases_redis import RedisSessionLeases
from server.storage.engine import make_async_engine
from server.storage.session_leases import SqlSessionLeases
from tests.conftest import migrated_url

TTL = timedelta(seconds=10)
KEY = "wapipe-c1-u7-abc123"


@dataclass
class Store:
    kind: str
    leases: SessionLeases
    expire: Callable[[str], Awaitable[None]]  # the lease of this key runs out


@pytest.fixture(params=["sqlite", "postgresql", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "redis":
        client = Redis.from_url(request.getfixturevalue("redis_url"))

        async def gone(key: str) -> None:
            await client.delete(f"wapipe:session-lease:{key}")

        yield Store("redis", RedisSessionLeases(client), gone)
        await client.aclose()
        return
    with migrated_url(request, tmp_path) as url:
        engine = make_async_engine(url)
        clock = ControlledClock()

        async def later(key: str) -> None:
            clock.advance(TTL.total_seconds())

        yield Store(request.param, SqlSessionLeases(engine, clock), later)
        await engine.dispose()


async def test_a_free_key_is_leased_once(store: Store) -> None:
    lease = await store.leases.acquire(KEY, owner="worker-a", ttl=TTL)
    assert lease == SessionLease(KEY, "worker-a", 1)
    assert await store.leases.acquire(KEY, owner="worker-b", ttl=TTL) is None
    assert await store.leases.acquire(KEY, owner="worker-a", ttl=TTL) is None  # held, even by itself
    other = await store.leases.acquire("wapipe-c2-u7-def456", owner="worker-b", ttl=TTL)
    assert other == SessionLease("wapipe-c2-u7-def456", "worker-b", 1)  # each key its own lease


async def test_only_the_holder_renews(store: Store) -> None:
    lease = await store.leases.acquire(KEY, owner="worker-a", ttl=TTL)
    assert lease is not None
    assert await store.leases.renew(lease, ttl=TTL)
    assert not await store.leases.renew(SessionLease(KEY, "worker-b", lease.token), ttl=TTL)
    assert not await store.leases.renew(SessionLease(KEY, "worker-a", lease.token + 1), ttl=TTL)
    assert not await store.leases.renew(SessionLease("wapipe-other", "worker-a", lease.token), ttl=TTL)
    assert await store.leases.renew(lease, ttl=TTL)  # refused renews changed nothing


async def test_only_the_holder_releases_and_the_next_holder_gets_a_larger_token(store: Store) -> None:
    first = await store.leases.acquire(KEY, owner="worker-a", ttl=TTL)
    assert first is not None
    assert not await store.leases.release(SessionLease(KEY, "worker-b", first.token))
    assert await store.leases.acquire(KEY, owner="worker-b", ttl=TTL) is None  # still held
    assert await store.leases.release(first)
    assert not await store.leases.release(first)  # already released
    assert not await store.leases.renew(first, ttl=TTL)
    second = await store.leases.acquire(KEY, owner="worker-b", ttl=TTL)
    assert second == SessionLease(KEY, "worker-b", 2)
    assert await store.leases.release(second)
    third = await store.leases.acquire(KEY, owner="worker-a", ttl=TTL)  # the same owner again
    assert third == SessionLease(KEY, "worker-a", 3)


async def test_an_expired_lease_is_taken_over_and_its_stale_holder_refused(store: Store) -> None:
    stale = await store.leases.acquire(KEY, owner="worker-a", ttl=TTL)
    assert stale is not None
    await store.expire(KEY)
    assert not await store.leases.renew(stale, ttl=TTL)  # expired: not renewed, even with nobody else
    taken = await store.leases.acquire(KEY, owner="worker-b", ttl=TTL)
    assert taken == SessionLease(KEY, "worker-b", stale.token + 1)
    assert not await store.leases.renew(stale, ttl=TTL)
    assert not await store.leases.release(stale)
    assert await store.leases.acquire(KEY, owner="worker-a", ttl=TTL) is None  # the stale holder's release
    assert await store.leases.renew(taken, ttl=TTL)  # changed nothing
    # The same owner name again (a restarted worker on a reused process id) is told apart by its token.
    await store.expire(KEY)
    again = await store.leases.acquire(KEY, owner="worker-a", ttl=TTL)
    assert again == SessionLease(KEY, "worker-a", 3)
    assert not await store.leases.renew(stale, ttl=TTL)


async def test_workers_racing_for_a_key_leave_one_holder(store: Store) -> None:
    owners = [f"worker-{n}" for n in range(6)]
    won = await asyncio.gather(*(store.leases.acquire(KEY, owner=owner, ttl=TTL) for owner in owners))
    assert len([lease for lease in won if lease is not None]) == 1


async def test_redis_is_given_the_time_to_live_and_a_renew_restarts_it(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    leases = RedisSessionLeases(client)
    try:
        lease = await leases.acquire(KEY, owner="worker-a", ttl=timedelta(seconds=30))
        assert lease is not None
        key = f"wapipe:session-lease:{KEY}"
        assert 29_000 < await client.pttl(key) <= 30_000
        assert await client.get(key) == b"1:worker-a"
        assert await leases.renew(lease, ttl=timedelta(seconds=90))
        assert 89_000 < await client.pttl(key) <= 90_000
    finally:
        await client.aclose()


async def test_the_database_lease_lasts_its_length_from_the_last_renew(migrated_database_url: str) -> None:
    engine = make_async_engine(migrated_database_url)
    clock = ControlledClock()
    leases = SqlSessionLeases(engine, clock)
    try:
        lease = await leases.acquire(KEY, owner="worker-a", ttl=TTL)
        assert lease is not None
        clock.advance(6)
        assert await leases.renew(lease, ttl=TTL)
        clock.advance(6)  # 12 s after the lease was taken, 6 s after its renew
        assert await leases.acquire(KEY, owner="worker-b", ttl=TTL) is None
        clock.advance(3.9)
        assert await leases.acquire(KEY, owner="worker-b", ttl=TTL) is None
        clock.advance(0.2)  # 10.1 s after the renew
        assert await leases.acquire(KEY, owner="worker-b", ttl=TTL) == SessionLease(KEY, "worker-b", 2)
    finally:
        await engine.dispose()
