"""The session host on the database's leases (both backends) with a fake connection factory, on a clock
the test moves: one connection per free session, stopped at once when its lease is lost, released when
the host stops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from pydantic import ValidationError

from server.domain.clock import ControlledClock
from server.domain.models import Account
from server.domain.ports.sessions import SessionLease
from server.jobs.context import job_timings
from server.jobs.session_host import SessionHost, accounts_on
from server.jobs.timing import JobTimings
from server.settings import Mode, load_settings
from server.storage.engine import make_async_engine
from server.storage.session_leases import SqlSessionLeases

TIMINGS = JobTimings(
    session_lease_ttl=timedelta(seconds=15),
    session_lease_renew=timedelta(seconds=5),
    session_lease_poll=timedelta(seconds=5),
)
KIND = "embedded-test"  # the transport the host runs; the embedded transport's own name comes later


def account(number: int, transport: str = KIND, company_id: int = 1) -> Account:
    return Account(
        id=number,
        company_id=company_id,
        owner_user_id=7,
        transport=transport,
        session_name=f"wapipe-c{company_id}-u7-{number:06x}",
        e164=None,
        display_name="",
        status="connected",
        status_detail="",
        last_activity_at=None,
    )


@dataclass
class FakeConnection:
    account: Account
    lease: SessionLease
    events: list[str]
    stopped: bool = False

    async def stop(self) -> None:
        self.stopped = True
        self.events.append(f"stop {self.account.session_name}")


@dataclass
class FakeFactory:
    started: list[FakeConnection] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # starts, stops and refused renews, in order
    failing: set[str] = field(default_factory=set)  # sessions whose start fails

    async def start(self, account: Account, lease: SessionLease) -> FakeConnection:
        if account.session_name in self.failing:
            raise RuntimeError("cannot reach WhatsApp")
        connection = FakeConnection(account, lease, self.events)
        self.started.append(connection)
        self.events.append(f"start {account.session_name}")
        return connection

    def running(self) -> list[str]:
        return [c.account.session_name for c in self.started if not c.stopped]


class RecordedLeases:
    """The database's leases, noting refused renews in the factory's events (to check their order)."""

    def __init__(self, leases: SqlSessionLeases, events: list[str], *, broken: bool = False) -> None:
        self.leases, self.events, self.broken = leases, events, broken

    async def acquire(self, key: str, *, owner: str, ttl: timedelta) -> SessionLease | None:
        return await self.leases.acquire(key, owner=owner, ttl=ttl)

    async def renew(self, lease: SessionLease, *, ttl: timedelta) -> bool:
        if self.broken:
            raise ConnectionError("the database went away")
        renewed = await self.leases.renew(lease, ttl=ttl)
        if not renewed:
            self.events.append(f"refused {lease.key}")
        return renewed

    async def release(self, lease: SessionLease) -> bool:
        return await self.leases.release(lease)


@dataclass
class HostWorld:
    clock: ControlledClock
    leases: SqlSessionLeases
    factory: FakeFactory
    recorded: RecordedLeases
    listed: list[Account]
    host: SessionHost


@pytest.fixture
async def world(migrated_database_url: str) -> AsyncIterator[HostWorld]:
    engine = make_async_engine(migrated_database_url)
    clock = ControlledClock()
    leases = SqlSessionLeases(engine, clock)
    factory = FakeFactory()
    recorded = RecordedLeases(leases, factory.events)
    listed: list[Account] = []

    async def listing() -> list[Account]:
        return list(listed)

    host = SessionHost(recorded, listing, factory, owner="worker-a", timings=TIMINGS, clock=clock)
    yield HostWorld(clock, leases, factory, recorded, listed, host)
    await engine.dispose()


async def test_the_host_starts_one_connection_per_free_session(world: HostWorld) -> None:
    free, taken = account(1), account(2)
    world.listed.extend([free, taken])
    other = await world.leases.acquire(taken.session_name, owner="worker-b", ttl=timedelta(minutes=5))
    assert other is not None
    await world.host.step()
    assert world.factory.running() == [free.session_name]
    assert world.host.held == {free.session_name: 1}
    [connection] = world.factory.started
    assert connection.lease == SessionLease(free.session_name, "worker-a", 1)
    for _ in range(3):  # later looks start nothing twice
        world.clock.advance(5)
        await world.host.step()
    assert len(world.factory.started) == 1
    assert world.factory.running() == [free.session_name]


async def test_the_host_keeps_its_leases_by_renewing_them(world: HostWorld) -> None:
    session = account(1)
    world.listed.append(session)
    await world.host.step()
    for _ in range(12):  # a minute: four times the lease's length
        world.clock.advance(5)
        await world.host.step()
        assert (
            await world.leases.acquire(session.session_name, owner="worker-b", ttl=TIMINGS.session_lease_ttl)
            is None
        )
    assert world.factory.running() == [session.session_name]
    assert "refused" not in " ".join(world.factory.events)


async def test_a_session_waits_for_its_renew_and_its_look_on_the_clock(world: HostWorld) -> None:
    world.listed.append(account(1))
    start = world.clock.now()
    due = await world.host.step()
    assert timedelta(seconds=5) <= due - start < timedelta(seconds=5.5)  # the renew and the next look
    world.clock.advance(2)
    assert await world.host.step() == due  # nothing was due yet


async def test_a_lost_lease_stops_its_connection_at_once(world: HostWorld) -> None:
    session = account(1)
    world.listed.append(session)
    await world.host.step()
    [lease] = [c.lease for c in world.factory.started]
    # Another worker takes the session over behind this host's back (its lease was released for it).
    assert await world.leases.release(lease)
    taken = await world.leases.acquire(session.session_name, owner="worker-b", ttl=TIMINGS.session_lease_ttl)
    assert taken is not None and taken.token > lease.token
    world.clock.advance(5)
    await world.host.step()
    key = session.session_name
    assert world.factory.events[:3] == [f"start {key}", f"refused {key}", f"stop {key}"]
    assert world.factory.running() == []
    assert world.host.held == {}
    world.clock.advance(5)
    await world.host.step()  # the next look finds it held: nothing starts
    assert world.factory.running() == []
    assert await world.leases.renew(taken, ttl=TIMINGS.session_lease_ttl)  # the new holder's lease is whole


async def test_a_host_that_missed_its_renews_stops_without_asking(world: HostWorld) -> None:
    session = account(1)
    world.listed.append(session)
    await world.host.step()
    world.clock.advance(16)  # the host stalled past its lease: another worker may hold the session now
    taken = await world.leases.acquire(session.session_name, owner="worker-b", ttl=TIMINGS.session_lease_ttl)
    assert taken is not None
    await world.host.step()
    assert world.factory.running() == []
    assert world.factory.events == [f"start {session.session_name}", f"stop {session.session_name}"]


async def test_a_renew_that_fails_stops_the_connection(world: HostWorld) -> None:
    world.listed.append(account(1))
    await world.host.step()
    world.recorded.broken = True
    world.clock.advance(5)
    await world.host.step()
    assert world.factory.running() == []
    assert world.host.held == {}


async def test_stopping_the_host_releases_its_sessions_at_once(world: HostWorld) -> None:
    first, second = account(1), account(2)
    world.listed.extend([first, second])
    await world.host.step()
    assert sorted(world.factory.running()) == sorted([first.session_name, second.session_name])
    await world.host.stop()
    assert world.factory.running() == []
    assert world.host.held == {}
    for session in (first, second):  # no wait for the lease to run out: the clock has not moved
        lease = await world.leases.acquire(
            session.session_name, owner="worker-b", ttl=TIMINGS.session_lease_ttl
        )
        assert lease == SessionLease(session.session_name, "worker-b", 2)


async def test_a_number_no_longer_listed_ends_its_session(world: HostWorld) -> None:
    kept, gone = account(1), account(2)
    world.listed.extend([kept, gone])
    await world.host.step()
    world.listed.remove(gone)  # logged out or unlinked
    world.clock.advance(5)
    await world.host.step()
    assert world.factory.running() == [kept.session_name]
    assert (
        await world.leases.acquire(gone.session_name, owner="worker-b", ttl=TIMINGS.session_lease_ttl)
        is not None
    )


async def test_a_session_that_cannot_start_gives_its_lease_back_and_is_tried_again(world: HostWorld) -> None:
    session = account(1)
    world.listed.append(session)
    world.factory.failing.add(session.session_name)
    await world.host.step()
    assert world.host.held == {}
    world.factory.failing.clear()
    world.clock.advance(5)
    await world.host.step()
    assert world.factory.running() == [session.session_name]
    assert world.host.held == {session.session_name: 2}  # the first, given back, was token 1


async def test_the_host_runs_the_sessions_of_one_transport() -> None:
    class Watched:
        async def watched(self) -> list[Account]:
            return [account(1), account(2, transport="waha"), account(3, company_id=2), account(4, "cloud")]

    listed = await accounts_on(Watched(), KIND)()
    assert [a.id for a in listed] == [1, 3]  # every company's, of that transport only


def test_the_session_waits_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAPIPE_SESSION_LEASE_TTL", "2")
    monkeypatch.setenv("WAPIPE_SESSION_LEASE_RENEW", "0.5")
    monkeypatch.setenv("WAPIPE_SESSION_LEASE_POLL", "0.25")
    chosen = job_timings(load_settings(mode=Mode.TEST))
    assert chosen.session_lease_ttl == timedelta(seconds=2)
    assert chosen.session_lease_renew == timedelta(milliseconds=500)
    assert chosen.session_lease_poll == timedelta(milliseconds=250)
    defaults = JobTimings()
    assert (defaults.session_lease_ttl, defaults.session_lease_renew) == (
        timedelta(seconds=15),
        timedelta(seconds=5),
    )


@pytest.mark.parametrize(("ttl", "renew"), [("5", "5"), ("5", "8")])
def test_a_renew_not_shorter_than_the_lease_is_refused(
    monkeypatch: pytest.MonkeyPatch, ttl: str, renew: str
) -> None:
    monkeypatch.setenv("WAPIPE_SESSION_LEASE_TTL", ttl)
    monkeypatch.setenv("WAPIPE_SESSION_LEASE_RENEW", renew)
    with pytest.raises(ValidationError, match=r"WAPIPE_SESSION_LEASE_RENEW .* must be shorter than"):
        load_settings(mode=Mode.TEST)
