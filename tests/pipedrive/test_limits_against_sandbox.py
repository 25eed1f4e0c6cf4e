"""The client's limits against the Pipedrive sandbox's: a budget that resets at another hour than 00:00
UTC, a budget 429 without its daily header, and search answers that report the search window; on both
limiters (in this process and on Redis)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import ALL_SCOPES, seed_person
from sandbox.pipedrive.state import SandboxState
from server.domain.errors import BudgetExhausted
from server.pipedrive.client import PipedriveClient
from server.pipedrive.oauth import TokenSet
from server.pipedrive.ratelimit import RateScope
from tests.pipedrive.limiters import Limiters

SANDBOX = "http://pipedrive.sandbox"
NINE_UTC = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class SandboxTokens:
    """A token source that asks the sandbox for a fresh token when one is rejected."""

    state: SandboxState
    company_id: int
    user_id: int
    issued: list[str] = field(default_factory=list)

    def _tokens(self) -> TokenSet:
        access = self.state.token_for(self.company_id, self.user_id, list(ALL_SCOPES))
        self.issued.append(access)
        return TokenSet(
            access_token=access,
            refresh_token="unused",
            expires_at=self.state.clock.now() + timedelta(hours=1),
            scopes=frozenset(ALL_SCOPES),
            api_domain=SANDBOX,
        )

    async def current(self) -> TokenSet:
        return self._tokens()

    async def refresh_rejected(self, rejected: TokenSet) -> TokenSet:
        return self._tokens()


@dataclass
class World:
    state: SandboxState
    client: PipedriveClient
    company_id: int
    sleeps: list[float]

    def advance(self, seconds: float) -> None:
        self.state.clock.advance(seconds)

    def answered(self) -> int:
        """Requests the sandbox answered for the company (admitted or refused by a limit)."""
        usage = self.state.limiter.usage_for(self.company_id)
        return usage.requests_total + usage.rejected


@pytest.fixture
async def world(limiters: Limiters) -> AsyncIterator[World]:
    state = SandboxState(base_url=SANDBOX)
    state.clock.set(NINE_UTC)
    company = state.add_company("Acme Sales GmbH", domain="acme", plan="lite")
    admin = state.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    seed_person(state, company.id, "Maria Muster", phones=["+49 89 6364 8018"])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) > 100:
            raise AssertionError(f"the limiter keeps waiting: {sleeps[:5]} ... {sleeps[-5:]}")
        state.clock.advance(math.ceil(max(0.0, seconds) * 1e6) / 1e6)  # the clock counts microseconds
        await asyncio.sleep(0)

    limiter = limiters(
        sleep=sleep, monotonic=lambda: state.clock.now().timestamp(), wall_clock=state.clock.now
    )
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as http:
        client = PipedriveClient(
            http,
            SandboxTokens(state, company.id, admin.id),
            RateScope(token_key="installation-1", company_key=str(company.id)),
            limiter=limiter,
            sleep=sleep,
            clock=state.clock.now,
            jitter=lambda: 0.0,
        )
        yield World(state, client, company.id, sleeps)


async def test_a_budget_that_resets_at_noon_utc_is_probed_hourly_and_used_again_at_noon(world: World) -> None:
    world.state.limiter.set_reset_hour(world.company_id, 12)
    world.state.limiter.set_daily_budget(world.company_id, 40)
    world.state.limiter.exhaust_budget(world.company_id, 40)

    with pytest.raises(BudgetExhausted) as spent:
        await world.client.users.me()
    assert spent.value.retry_after == 3600
    probes = []
    for _ in range(2):  # 10:00 and 11:00: still spent, one request each
        world.advance(3600)
        with pytest.raises(BudgetExhausted) as still:
            await world.client.users.me()
        with pytest.raises(BudgetExhausted):
            await world.client.persons.get(1)
        probes.append(world.answered())
        assert still.value.retry_after == 3600
    assert probes == [2, 3]

    world.advance(3600)  # 12:00 UTC, the sandbox company's reset
    me = await world.client.users.me()
    person = await world.client.persons.get(1)
    assert me.company_id == world.company_id and person.name == "Maria Muster"
    assert world.state.clock.now() == NINE_UTC + timedelta(hours=3)


async def test_a_budget_429_without_its_daily_header_defers_after_one_request(world: World) -> None:
    world.state.limiter.set_daily_budget(world.company_id, 0)
    world.state.limiter.faults.omit_daily_headers = 5

    with pytest.raises(BudgetExhausted) as spent:
        await world.client.users.me()
    with pytest.raises(BudgetExhausted):
        await world.client.users.me()

    assert spent.value.retry_after == 3600
    assert world.answered() == 1
    assert world.sleeps == []


async def test_searches_do_not_slow_other_calls_to_the_search_limit(world: World) -> None:
    for i in range(10):
        await world.client.persons.search(f"+4989636480{i:02d}", exact_match=True)
    for _ in range(60):
        await world.client.persons.get(1)

    assert world.sleeps == [], "ten searches and sixty reads fit the Lite plan's 80 per 2 s"
    usage = world.state.limiter.usage_for(world.company_id)
    assert usage.rejected == 0


async def test_the_eleventh_search_waits_for_the_search_window(world: World) -> None:
    for i in range(11):
        await world.client.persons.search(f"+4989636480{i:02d}", exact_match=True)

    assert len(world.sleeps) == 1 and 0 < world.sleeps[0] <= 2.0
    assert world.state.limiter.usage_for(world.company_id).rejected == 0
