"""Refreshing one installation from several processes against the Pipedrive sandbox, whose refresh tokens
work once (``rotate_refresh_tokens``): with the Redis lock they share, exactly one refreshes; without it, the
one that loses the race reads the winner's stored tokens instead of needing re-authorisation."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
import pytest
from redis.asyncio import Redis

from sandbox.pipedrive.app import create_app
from sandbox.pipedrive.seed import ALL_SCOPES
from sandbox.pipedrive.state import SandboxState
from server.domain.errors import NeedsReauth
from server.jobs.refresh_lock_redis import RedisRefreshLocks, RefreshLockTimings
from server.pipedrive.oauth import PipedriveOAuth, TokenSet
from server.pipedrive.tokens import InstallationTokens, LocalRefreshLocks, RefreshLock

CLIENT_ID = "wapipe-test"
CLIENT_SECRET = "wapipe-test-secret"
REDIRECT_URI = "https://wapipe.test/oauth/callback"
SANDBOX = "http://pipedrive.sandbox"
KEY = "installation:1"


@dataclass
class Database:
    """The installation's stored tokens, as every process reads and writes them."""

    tokens: TokenSet
    saves: list[TokenSet] = field(default_factory=list)

    async def save(self, fresh: TokenSet) -> None:
        self.saves.append(fresh)
        self.tokens = fresh

    async def load(self) -> TokenSet | None:
        return self.tokens


@dataclass
class Pipedrive:
    state: SandboxState
    oauth: PipedriveOAuth
    first: TokenSet  # the installation's tokens, expired: the next use refreshes them
    refreshes: list[str] = field(default_factory=list)  # refresh tokens sent, in order

    async def refresh(self, refresh_token: str) -> TokenSet:
        self.refreshes.append(refresh_token)
        return await self.oauth.refresh(refresh_token)


@pytest.fixture
async def pipedrive() -> AsyncIterator[Pipedrive]:
    state = SandboxState(base_url=SANDBOX)
    state.rotate_refresh_tokens = True  # as Pipedrive: a refresh token works once
    company = state.add_company("Acme Sales GmbH", domain="acme")
    admin = state.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    state.add_client(CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, list(ALL_SCOPES))
    grant = state.issue_grant(CLIENT_ID, company.id, admin.id, list(ALL_SCOPES))
    first = TokenSet(
        access_token=grant.access_token,
        refresh_token=grant.refresh_token,
        expires_at=state.clock.now() - timedelta(minutes=1),
        scopes=frozenset(grant.scopes),
        api_domain=state.api_domain(company.id),
    )
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url=SANDBOX) as http:
        oauth = PipedriveOAuth(
            http,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT_URI,
            oauth_url=SANDBOX,
            clock=state.clock.now,
        )
        yield Pipedrive(state, oauth, first)


@dataclass
class Process:
    """One worker's view of the installation."""

    tokens: InstallationTokens
    refused: list[NeedsReauth] = field(default_factory=list)  # what ``on_refused`` was told


def process(
    pipedrive: Pipedrive,
    database: Database,
    lock: RefreshLock,
    refresh: Callable[[str], Awaitable[TokenSet]] | None = None,
) -> Process:
    refused: list[NeedsReauth] = []

    async def on_refused(error: NeedsReauth) -> None:
        refused.append(error)

    class Refresher:
        async def refresh(self, refresh_token: str) -> TokenSet:
            return await (refresh or pipedrive.refresh)(refresh_token)

    tokens = InstallationTokens(
        KEY,
        database.tokens,
        oauth=Refresher(),
        on_refreshed=database.save,
        lock=lock,
        load_latest=database.load,
        on_refused=on_refused,
        clock=pipedrive.state.clock.now,
    )
    return Process(tokens, refused)


async def test_two_processes_sharing_the_redis_lock_refresh_once_and_both_use_the_new_token(
    pipedrive: Pipedrive, redis_url: str
) -> None:
    database = Database(pipedrive.first)
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:  # the waiter looks again at once: no real waiting
        waits.append(seconds)
        await asyncio.sleep(0)

    timings = RefreshLockTimings(
        ttl=timedelta(seconds=30), wait=timedelta(hours=1), poll=timedelta(seconds=1)
    )
    first_redis, second_redis = Redis.from_url(redis_url), Redis.from_url(redis_url)  # one client each
    try:
        first = process(pipedrive, database, RedisRefreshLocks(first_redis, timings, sleep=no_wait))
        second = process(pipedrive, database, RedisRefreshLocks(second_redis, timings, sleep=no_wait))

        got = await asyncio.gather(first.tokens.current(), second.tokens.current())

        assert pipedrive.refreshes == [pipedrive.first.refresh_token]  # exactly one refresh
        [saved] = database.saves
        assert saved.refresh_token != pipedrive.first.refresh_token
        assert [t.access_token for t in got] == [saved.access_token, saved.access_token]
        assert first.tokens.tokens == second.tokens.tokens == saved
        assert first.refused == second.refused == []
        assert waits, "the second process should have waited for the first one's lock"
        assert await first_redis.exists("wapipe:refresh-lock:" + KEY) == 0  # released
    finally:
        await first_redis.aclose()
        await second_redis.aclose()


async def test_a_refresh_that_lost_the_race_uses_the_winners_stored_tokens(pipedrive: Pipedrive) -> None:
    database = Database(pipedrive.first)
    winner_done = asyncio.Event()

    async def after_the_winner(refresh_token: str) -> TokenSet:
        await winner_done.wait()  # read the same tokens as the winner, reaches Pipedrive after it
        return await pipedrive.refresh(refresh_token)

    winner = process(pipedrive, database, LocalRefreshLocks())  # no shared lock: two processes
    loser = process(pipedrive, database, LocalRefreshLocks(), refresh=after_the_winner)

    async def win() -> TokenSet:
        won = await winner.tokens.current()
        winner_done.set()
        return won

    lost, won = await asyncio.gather(loser.tokens.current(), win())

    assert pipedrive.refreshes == [pipedrive.first.refresh_token, pipedrive.first.refresh_token]
    [saved] = database.saves  # only the winner stored anything
    assert won == lost == saved
    assert loser.tokens.tokens == saved
    assert loser.refused == []  # the installation is not marked


async def test_a_refused_refresh_whose_tokens_are_still_stored_needs_reauth(pipedrive: Pipedrive) -> None:
    database = Database(pipedrive.first)
    await pipedrive.oauth.refresh(pipedrive.first.refresh_token)  # spent, its result never stored
    only = process(pipedrive, database, LocalRefreshLocks())

    with pytest.raises(NeedsReauth) as caught:
        await only.tokens.current()

    assert caught.value.reason == "needs_reauth"
    assert only.refused == [caught.value]
    assert database.saves == []
    assert database.tokens == pipedrive.first
