"""Catch-up reads from before the gap, whatever arrived live before it ran, and no run outlives its job:
the ``catch_up_account`` job over real stores (SQLite and PostgreSQL) and a gateway whose history lists
what its phone has, newest first, paged by offset as WAHA's does, a page taking the time a test gives it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from arq.worker import Retry

from server.domain.clock import ControlledClock
from server.domain.errors import GatewayUnavailable
from server.domain.models import Account
from server.domain.whatsapp import (
    HistoryBatch,
    InboundMessage,
    MessageOrigin,
    MessageReceived,
    Peer,
    SessionStatus,
)
from server.jobs.deps import JobDeps
from server.jobs.inbound import catch_up_account
from server.jobs.inprocess import DEFAULT_TIMEOUT_S
from server.jobs.timing import JobTimings
from server.services.ingest import ingest_events
from server.storage.engine import make_async_engine
from server.storage.tables import Message, table_of
from server.whatsapp.waha import WAHA_CAPABILITIES
from tests.job_deps import deps_over, run_ctx

OVERLAP = timedelta(minutes=5)  # how far before the complete history a catch-up reads (clocks differ)
BUDGET = timedelta(seconds=120)
MINUTE = 60.0
MARIA = Peer("4917655501234@s.whatsapp.net", e164="+4917655501234", display_name="Maria")


class Gateway:
    """The gateway's history of every linked phone: ``phone`` puts a message there (a webhook may or may
    not bring it too); ``history`` answers as WAHA does and moves the clock by ``page_seconds`` per page."""

    kind = "waha"

    def __init__(self, clock: ControlledClock) -> None:
        self.clock = clock
        self.phones: dict[str, list[InboundMessage]] = {}
        self.reads: list[tuple[str, datetime, int]] = []  # (session, since, offset) of every page read
        self.page_seconds = 0.0
        self.failing = False
        self.capabilities = WAHA_CAPABILITIES  # a WAHA gateway's, as the fakes stand in for one

    def phone(self, session: str, text: str, *, ago: float = 0.0) -> InboundMessage:
        """The phone of ``session`` receives ``text`` from Maria, sent ``ago`` seconds before now."""
        messages = self.phones.setdefault(session, [])
        message = InboundMessage(
            account_id=session,
            wa_message_id=f"WA{session}{len(messages):05d}",
            chat=MARIA,
            sender=MARIA,
            from_me=False,
            sent_at=self.clock.now() - timedelta(seconds=ago),
            text=text,
        )
        messages.append(message)
        return message

    async def history(
        self,
        account_id: str,
        chat_key: str | None,
        *,
        since: datetime | None,
        limit: int = 100,
        offset: int = 0,
        origin: MessageOrigin = MessageOrigin.CATCHUP,
    ) -> HistoryBatch:
        assert since is not None
        self.reads.append((account_id, since, offset))
        self.clock.advance(self.page_seconds)
        if self.failing:
            raise GatewayUnavailable("WAHA answered 503")
        listed = sorted(
            (m for m in self.phones.get(account_id, []) if m.sent_at >= since),
            key=lambda m: m.sent_at,
            reverse=True,
        )
        page = [replace(m, origin=origin) for m in listed[offset : offset + limit]]
        return HistoryBatch(
            account_id=account_id,
            chat_key=None,
            messages=page,
            next_offset=offset + len(page) if len(page) >= limit else None,
        )


@dataclass
class Queue:
    """The job queue: what the jobs queued, kept for the test to run."""

    jobs: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    async def enqueue(
        self, function: str, *args: Any, job_id: str | None = None, defer_by: Any = None
    ) -> bool:
        self.jobs.append((function, args))
        return True

    async def ping(self) -> None:
        return None

    async def is_running(self, job_id: str) -> bool:
        return False

    def catch_ups(self) -> list[tuple[Any, ...]]:
        """The catch-up runs queued (their arguments), taken off the queue."""
        taken = [args for function, args in self.jobs if function == "catch_up_account"]
        self.jobs = [job for job in self.jobs if job[0] != "catch_up_account"]
        return taken


@dataclass
class World:
    url: str
    clock: ControlledClock
    gateway: Gateway
    queue: Queue
    deps: JobDeps
    a: Account  # company A's number
    b: Account  # company B's number

    def restart(self) -> None:
        """WaPipe starts again: new stores over a new connection to the same database, nothing in memory."""
        engine = make_async_engine(self.url)
        self.deps = _deps(engine, self.gateway, self.queue, self.clock)

    async def status(self, account: Account, status: SessionStatus) -> None:
        """The session is seen in ``status`` (a webhook or the session watcher)."""
        await self.deps.inbox.record_session(account.id, status, "", None, None)

    async def live(self, account: Account, text: str) -> InboundMessage:
        """A message reaches the phone and its webhook reaches WaPipe."""
        message = self.gateway.phone(account.session_name, text)
        await ingest_events([MessageReceived(message)], transport="waha", store=self.deps.inbox)
        return message

    async def catch_up(self, account: Account, trigger: str = "reconnect", *chain: Any) -> str:
        """One run of the job, as a worker runs it."""
        result: str = await catch_up_account(run_ctx(self.deps, job_try=1), account.id, trigger, *chain)
        return result

    async def catch_up_to_the_end(self, account: Account, trigger: str = "reconnect") -> list[str]:
        """A catch-up and every further run it queues."""
        results = [await self.catch_up(account, trigger)]
        while queued := self.queue.catch_ups():
            [(account_id, queued_trigger, chain)] = queued
            assert (account_id, queued_trigger) == (account.id, trigger)
            results.append(await self.catch_up(account, trigger, chain))
        return results

    async def mark(self, account: Account) -> datetime | None:
        stored = await self.deps.accounts.by_id(account.id)
        assert stored is not None
        return stored.caught_up_until

    async def texts(self, account: Account) -> list[str]:
        table = table_of(Message)
        async with self.deps.engine.connect() as connection:
            query = table.select().where(table.c.account_id == account.id).order_by(table.c.sent_at)
            return [row["text"] for row in (await connection.execute(query)).mappings()]


def _deps(engine: Any, gateway: Gateway, queue: Queue, clock: ControlledClock) -> JobDeps:
    return deps_over(
        engine,
        queue=queue,
        transports={"waha": gateway},
        clock=clock,
        timings=JobTimings(catch_up_budget=BUDGET),
    )


@pytest.fixture
async def world(migrated_database_url: str) -> AsyncIterator[World]:
    engine = make_async_engine(migrated_database_url)
    clock = ControlledClock()
    gateway, queue = Gateway(clock), Queue()
    deps = _deps(engine, gateway, queue, clock)
    numbers = []
    for pipedrive_id, session in ((101, "wp-a"), (202, "wp-b")):
        company = await deps.companies.upsert(pipedrive_id, name=session, api_domain="x", timezone="UTC")
        account = await deps.accounts.create(
            company_id=company.id, owner_user_id=1, transport="waha", session_name=session
        )
        await deps.inbox.record_session(account.id, SessionStatus.CONNECTED, "", None, None)
        numbers.append(account)
    built = World(migrated_database_url, clock, gateway, queue, deps, *numbers)
    yield built
    await engine.dispose()
    if built.deps.engine is not engine:
        await built.deps.engine.dispose()


async def linked(world: World, account: Account) -> datetime:
    """The number was linked with a message from yesterday on its phone, and its first catch-up ran:
    the history is complete from then on. The mark it set, checked against the clock around the run."""
    world.gateway.phone(account.session_name, "yesterday", ago=24 * 3600)
    before = world.clock.now()
    assert await world.catch_up_to_the_end(account) == ["1 new, 0 already stored"]
    after = world.clock.now()
    mark = await world.mark(account)
    assert mark is not None and before <= mark <= after
    return mark


async def test_a_live_message_stored_before_the_catch_up_runs_does_not_hide_the_gap(world: World) -> None:
    mark = await linked(world, world.a)
    world.clock.advance(MINUTE)
    await world.live(world.a, "before the gap")
    world.clock.advance(MINUTE)
    await world.status(world.a, SessionStatus.DISCONNECTED)  # the phone goes offline for an hour
    world.clock.advance(10 * MINUTE)
    world.gateway.phone(world.a.session_name, "during the gap, 10 minutes in")
    world.clock.advance(30 * MINUTE)
    world.gateway.phone(world.a.session_name, "during the gap, 40 minutes in")
    world.clock.advance(20 * MINUTE)
    await world.status(world.a, SessionStatus.CONNECTED)  # back: the catch-up is queued ...
    world.clock.advance(1)
    await world.live(world.a, "right after the gap")  # ... and this message's webhook is processed first
    world.clock.advance(1)

    assert await world.catch_up_to_the_end(world.a) == ["2 new, 2 already stored"]
    assert await world.texts(world.a) == [
        "yesterday",
        "before the gap",
        "during the gap, 10 minutes in",
        "during the gap, 40 minutes in",
        "right after the gap",
    ]
    assert world.gateway.reads[-1][1] == mark - OVERLAP


async def test_a_gap_begun_before_a_complete_catch_up_is_read_once_the_drop_is_seen(
    world: World,
) -> None:
    await linked(world, world.a)
    world.clock.advance(MINUTE)
    before = await world.live(world.a, "before the gap")
    world.clock.advance(10 * MINUTE)  # the phone went offline a minute after that message; nobody knows yet
    assert await world.catch_up_to_the_end(world.a, "watchdog") == ["0 new, 1 already stored"]
    mark = await world.mark(world.a)
    assert mark is not None and mark > before.sent_at + 5 * timedelta(seconds=MINUTE)
    # The drop is seen: what the phone missed is later than its newest stored message.
    await world.status(world.a, SessionStatus.DISCONNECTED)
    assert await world.mark(world.a) == before.sent_at
    world.clock.advance(50 * MINUTE)
    # Back online, the phone gets what was sent while it was away, sent before the watchdog's run.
    world.gateway.phone(world.a.session_name, "sent 2 minutes into the gap", ago=58 * MINUTE)
    await world.status(world.a, SessionStatus.CONNECTED)
    await world.live(world.a, "right after the gap")

    assert await world.catch_up_to_the_end(world.a) == ["1 new, 2 already stored"]
    assert "sent 2 minutes into the gap" in await world.texts(world.a)
    assert world.gateway.reads[-1][1] == before.sent_at - OVERLAP


async def test_webhooks_lost_while_the_phone_was_fine_are_found_after_a_restart(world: World) -> None:
    mark = await linked(world, world.a)
    world.clock.advance(MINUTE)
    await world.live(world.a, "before WaPipe went down")
    world.clock.advance(10 * MINUTE)  # WaPipe is down: the phone gets messages, their webhooks are lost
    world.gateway.phone(world.a.session_name, "while WaPipe was down")
    world.clock.advance(30 * MINUTE)
    world.restart()
    await world.live(world.a, "after the restart")
    world.clock.advance(MINUTE)

    assert await world.catch_up_to_the_end(world.a, "watchdog") == ["1 new, 2 already stored"]
    assert "while WaPipe was down" in await world.texts(world.a)
    assert world.gateway.reads[-1][1] == mark - OVERLAP  # the mark set before the restart, from the database
    account = await world.deps.accounts.by_id(world.a.id)
    assert account is not None and "1 messages missed by webhooks were recovered" in account.status_detail


async def test_a_first_link_imports_its_week_whatever_arrived_live_first(world: World) -> None:
    world.gateway.phone(world.a.session_name, "six days ago", ago=6 * 24 * 3600)
    world.gateway.phone(world.a.session_name, "eight days ago", ago=8 * 24 * 3600)
    await world.live(world.a, "just linked")  # before the first catch-up ran
    assert await world.catch_up_to_the_end(world.a) == ["1 new, 1 already stored"]
    assert await world.texts(world.a) == ["six days ago", "just linked"]
    [(_, since, _)] = world.gateway.reads
    assert timedelta(days=7) <= world.clock.now() - since < timedelta(days=7, minutes=1)


async def test_a_run_stops_on_its_time_budget_and_the_next_keeps_the_start(world: World) -> None:
    mark = await linked(world, world.a)
    world.clock.advance(MINUTE)
    await world.live(world.a, "before the gap")
    world.clock.advance(MINUTE)
    for n in range(250):  # three pages of history
        world.gateway.phone(world.a.session_name, f"missed {n:03d}", ago=(250 - n) / 10)
    world.clock.advance(MINUTE)
    world.gateway.page_seconds = 130.0  # a slow gateway: the budget (120 s) is spent after one page

    began = world.clock.now()
    assert await world.catch_up(world.a) == "100 new, 0 already stored; more to read"
    took = world.clock.now() - began
    assert took <= BUDGET + timedelta(seconds=130) < timedelta(seconds=DEFAULT_TIMEOUT_S)
    [(account_id, trigger, chain)] = world.queue.catch_ups()
    assert (account_id, trigger) == (world.a.id, "reconnect")
    assert await world.mark(world.a) == mark  # not complete yet

    await world.live(world.a, "between two runs")  # the newest message now: it moves no start
    assert await world.catch_up(world.a, "reconnect", chain) == "99 new, 1 already stored; more to read"
    [(_, _, chain)] = world.queue.catch_ups()
    assert await world.catch_up(world.a, "reconnect", chain) == "51 new, 1 already stored"
    assert world.queue.catch_ups() == []

    texts = await world.texts(world.a)
    assert [t for t in texts if t.startswith("missed")] == [f"missed {n:03d}" for n in range(250)]
    assert [(since, offset) for _, since, offset in world.gateway.reads[1:]] == [
        (mark - OVERLAP, 0),
        (mark - OVERLAP, 100),
        (mark - OVERLAP, 200),
    ]
    new_mark = await world.mark(world.a)
    assert new_mark is not None and began <= new_mark < began + timedelta(seconds=1)  # the first run's start


async def test_a_failed_run_leaves_the_mark_where_it_was(world: World) -> None:
    mark = await linked(world, world.a)
    await world.live(world.a, "after the link")
    world.clock.advance(10 * MINUTE)
    world.gateway.phone(world.a.session_name, "missed")
    world.gateway.failing = True
    with pytest.raises(Retry):
        await world.catch_up(world.a, "watchdog")
    assert await world.mark(world.a) == mark
    world.gateway.failing = False
    assert await world.catch_up_to_the_end(world.a, "watchdog") == ["1 new, 1 already stored"]
    assert [since for _, since, _ in world.gateway.reads[1:]] == [mark - OVERLAP, mark - OVERLAP]


async def test_a_drop_seen_during_a_catch_up_keeps_its_lower_mark(world: World) -> None:
    first_mark = await linked(world, world.a)
    [yesterday] = world.gateway.phones[world.a.session_name]
    # The phone was offline, unnoticed, when the number was linked; back, it delivers what was sent to it
    # half a day before the first catch-up ran.
    for n in range(150):
        world.gateway.phone(world.a.session_name, f"late {n:03d}", ago=12 * 3600 - n)
    world.clock.advance(MINUTE)
    world.gateway.page_seconds = 130.0
    assert await world.catch_up(world.a, "watchdog") == "100 new, 0 already stored; more to read"
    [(_, _, chain)] = world.queue.catch_ups()
    assert world.gateway.reads[-1][1] == yesterday.sent_at - OVERLAP
    # The drop is seen between the two runs: the newest stored message is from before the first mark.
    await world.status(world.a, SessionStatus.DISCONNECTED)
    newest = max(m.sent_at for m in world.gateway.phones[world.a.session_name])
    assert newest < first_mark
    assert await world.mark(world.a) == newest
    await world.status(world.a, SessionStatus.CONNECTED)
    assert await world.catch_up(world.a, "watchdog", chain) == "50 new, 1 already stored"
    assert await world.mark(world.a) == newest  # the chain began before the drop was seen: it marks nothing


async def test_a_catch_up_begun_while_disconnected_marks_nothing(world: World) -> None:
    await linked(world, world.a)
    [yesterday] = world.gateway.phones[world.a.session_name]
    world.clock.advance(MINUTE)
    await world.status(world.a, SessionStatus.DISCONNECTED)
    assert await world.mark(world.a) == yesterday.sent_at  # nothing arrived since
    world.clock.advance(10 * MINUTE)
    assert await world.catch_up_to_the_end(world.a, "watchdog") == ["0 new, 1 already stored"]
    assert await world.mark(world.a) == yesterday.sent_at


async def test_each_number_keeps_its_own_mark(world: World) -> None:
    mark_a = await linked(world, world.a)
    world.clock.advance(MINUTE)
    await linked(world, world.b)
    [b_yesterday] = world.gateway.phones[world.b.session_name]
    world.clock.advance(MINUTE)
    await world.live(world.a, "to A")
    world.clock.advance(MINUTE)

    await world.status(world.b, SessionStatus.DISCONNECTED)  # B's drop lowers B's mark only
    assert await world.mark(world.a) == mark_a
    assert await world.mark(world.b) == b_yesterday.sent_at
    world.clock.advance(10 * MINUTE)
    world.gateway.phone(world.b.session_name, "B while away")

    began = world.clock.now()
    assert await world.catch_up_to_the_end(world.a, "watchdog") == ["0 new, 1 already stored"]
    new_mark_a = await world.mark(world.a)
    assert new_mark_a is not None and new_mark_a >= began
    assert await world.mark(world.b) == b_yesterday.sent_at
    assert "B while away" not in await world.texts(world.a)
    assert [session for session, _, _ in world.gateway.reads[2:]] == ["wp-a"]

    await world.status(world.b, SessionStatus.CONNECTED)
    assert await world.catch_up_to_the_end(world.b) == ["1 new, 1 already stored"]
    assert world.gateway.reads[-1][1] == b_yesterday.sent_at - OVERLAP
    assert await world.mark(world.a) == new_mark_a
    assert "B while away" in await world.texts(world.b)
