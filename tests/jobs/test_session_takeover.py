"""Two real worker processes run the session host for the same number, one is SIGKILLed: the other takes
the session over within the lease, and the two never hold it at the same time.

Each child (forked, with its own event loop and connections) runs ``SessionHost`` on the wall clock with
short waits from the settings, over the same database (where the number is listed) and the leases in Redis
or in that database. Its connection factory appends what it does to a Redis list: who started or stopped
the session, under which fencing token, at what time. The test reads that log with a deadline; this one
test waits real seconds, as it runs real processes.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from server.domain.clock import SystemClock
from server.domain.models import Account
from server.domain.ports.sessions import SessionLease, SessionLeases
from server.jobs.context import job_timings
from server.jobs.session_host import SessionHost, accounts_on
from server.jobs.session_leases_redis import RedisSessionLeases
from server.settings import Mode, load_settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.engine import make_async_engine
from server.storage.session_leases import SqlSessionLeases
from tests.conftest import migrated_url

KIND = "embedded-test"
SESSION = "wapipe-c1-u7-takeover"
LOG = "test:session-log"
TTL_S, RENEW_S, POLL_S = 1.5, 0.2, 0.1  # WAPIPE_SESSION_LEASE_TTL, _RENEW, _POLL
HELD_S = 1.3  # both workers run this long, past a whole lease, before the holder is killed
# How long the test looks for the takeover: a bound for a loaded machine, not a figure (how soon a session
# is taken over is the lease's length plus one look; docs/sessions.md)
TAKEOVER_WITHIN_S = 15.0
WAIT_S = 20  # a generous bound on a child's life: the test fails instead of hanging


@dataclass(frozen=True)
class Setup:
    store: str  # where the leases are: "redis" or "database"
    database_url: str
    redis_url: str


@pytest.fixture(
    params=[("redis", "sqlite"), ("database", "sqlite"), ("database", "postgresql")],
    ids=["redis", "sqlite", "postgresql"],
)
def setup(request: pytest.FixtureRequest, tmp_path: Path, redis_url: str) -> Iterator[Setup]:
    store, backend = request.param
    with migrated_url(request, tmp_path, backend) as url:
        yield Setup(store, url, redis_url)


class LoggedConnections:
    """The connection factory of a child: every start and stop appended to the shared log."""

    def __init__(self, redis: Redis, owner: str) -> None:
        self.redis, self.owner = redis, owner

    async def _log(self, event: str, lease: SessionLease) -> None:
        entry = {"owner": self.owner, "token": lease.token, "event": event, "at": time.time()}
        await self.redis.rpush(LOG, json.dumps(entry))  # type: ignore[misc]

    async def start(self, account: Account, lease: SessionLease) -> LoggedConnection:
        await self._log("started", lease)
        return LoggedConnection(self, lease)


class LoggedConnection:
    def __init__(self, factory: LoggedConnections, lease: SessionLease) -> None:
        self.factory, self.lease = factory, lease

    async def stop(self) -> None:
        await self.factory._log("stopped", self.lease)


def worker(owner: str, setup: Setup) -> None:
    """The child process (forked): a worker's session host until SIGTERM (or SIGKILL)."""
    asyncio.events._set_running_loop(None)  # forked from inside the test's running loop
    asyncio.run(_host(owner, setup))


async def _host(owner: str, setup: Setup) -> None:
    settings = load_settings(
        mode=Mode.TEST, session_lease_ttl=TTL_S, session_lease_renew=RENEW_S, session_lease_poll=POLL_S
    )
    engine = make_async_engine(setup.database_url)
    redis = Redis.from_url(setup.redis_url)
    clock = SystemClock()
    leases: SessionLeases = (
        RedisSessionLeases(redis) if setup.store == "redis" else SqlSessionLeases(engine, clock)
    )
    host = SessionHost(
        leases,
        accounts_on(SqlAccountStore(engine), KIND),
        LoggedConnections(redis, owner),
        owner=owner,
        timings=job_timings(settings),
        clock=clock,
    )
    stopping = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stopping.set)
    await host.run(stopping)
    await redis.aclose()
    await engine.dispose()


async def _prepare(database_url: str) -> None:
    engine = make_async_engine(database_url)
    company = await SqlCompanyStore(engine).upsert(5301, name="Acme", api_domain="", timezone="UTC")
    await SqlAccountStore(engine).create(
        company_id=company.id, owner_user_id=7, transport=KIND, session_name=SESSION
    )
    await engine.dispose()


def log(redis: SyncRedis) -> list[dict[str, Any]]:
    entries: list[bytes] = redis.lrange(LOG, 0, -1)  # type: ignore[assignment]
    return [json.loads(entry) for entry in entries]


async def logged(redis: SyncRedis, count: int, within: float) -> list[dict[str, Any]]:
    """The log once it has ``count`` entries; fails after ``within`` seconds."""
    deadline = time.monotonic() + within
    while len(entries := log(redis)) < count:
        assert time.monotonic() < deadline, f"the log has {entries} after {within} s"
        await asyncio.sleep(0.02)
    return entries


async def ended(process: Any) -> int:
    deadline = time.monotonic() + WAIT_S
    while process.is_alive():
        assert time.monotonic() < deadline, "a worker did not end"
        await asyncio.sleep(0.02)
    process.join()
    return int(process.exitcode)


async def test_a_killed_worker_s_session_is_taken_over_and_never_held_twice(setup: Setup) -> None:
    await _prepare(setup.database_url)
    redis = SyncRedis.from_url(setup.redis_url)
    context = multiprocessing.get_context("fork")
    workers = {
        name: context.Process(target=worker, args=(name, setup), daemon=True) for name in ("one", "two")
    }
    try:
        for process in workers.values():
            process.start()
        [first] = await logged(redis, 1, within=10)  # the processes start, one leases the session
        assert first["event"] == "started"
        await asyncio.sleep(HELD_S)  # the holder renews; the other keeps looking
        assert log(redis) == [first]  # never held twice: nobody else started it while the holder lived
        holder, other = first["owner"], "two" if first["owner"] == "one" else "one"
        workers[holder].kill()
        killed_at = time.time()
        assert await ended(workers[holder]) == -signal.SIGKILL
        [_, second] = await logged(redis, 2, within=TAKEOVER_WITHIN_S)
        assert (second["owner"], second["event"]) == (other, "started")
        assert second["token"] > first["token"]  # the fencing token grew
        assert killed_at < second["at"]  # only once the holder is gone: the two held times do not meet
        workers[other].terminate()  # a worker shutting down stops its session and releases its lease
        assert await ended(workers[other]) == 0
    finally:
        for process in workers.values():
            if process.is_alive():
                process.kill()
                process.join()
    entries = log(redis)
    assert [(e["owner"], e["event"]) for e in entries] == [
        (holder, "started"),
        (other, "started"),
        (other, "stopped"),
    ]
    # Released on shutdown: a third worker takes it at once, with the next token.
    engine = make_async_engine(setup.database_url)
    client = Redis.from_url(setup.redis_url)
    leases: SessionLeases = (
        RedisSessionLeases(client) if setup.store == "redis" else SqlSessionLeases(engine, SystemClock())
    )
    third = await leases.acquire(SESSION, owner="three", ttl=timedelta(seconds=TTL_S))
    await client.aclose()
    await engine.dispose()
    assert third == SessionLease(SESSION, "three", second["token"] + 1)
    redis.close()
