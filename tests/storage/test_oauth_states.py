"""Used OAuth states, on both backends: the first claim of a nonce wins, every later one is refused (also
when several arrive at once), and nonces past their time are forgotten."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from server.storage.engine import make_async_engine
from server.storage.oauth_states import SqlUsedStates
from server.storage.tables import OAuthStateUse, table_of

_table = table_of(OAuthStateUse)


@pytest.fixture
async def engine(migrated_database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_async_engine(migrated_database_url)
    yield engine
    await engine.dispose()


async def kept(engine: AsyncEngine) -> dict[str, datetime]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(_table.c.nonce, _table.c.expires_at))).all()
    return {nonce: expires_at for nonce, expires_at in rows}


async def test_a_nonce_is_claimed_once_and_kept_as_long_as_its_state_lives(engine: AsyncEngine) -> None:
    used = SqlUsedStates(engine)
    before = datetime.now(UTC)
    assert await used.claim("nonce-a", max_age=600) is True
    assert await used.claim("nonce-a", max_age=600) is False
    assert await used.claim("nonce-b", max_age=600) is True
    rows = await kept(engine)
    assert set(rows) == {"nonce-a", "nonce-b"}
    assert before + timedelta(seconds=600) <= rows["nonce-a"] <= datetime.now(UTC) + timedelta(seconds=600)


async def test_of_simultaneous_claims_exactly_one_wins(engine: AsyncEngine) -> None:
    used = SqlUsedStates(engine)
    results = await asyncio.gather(*(used.claim("raced", max_age=600) for _ in range(6)))
    assert sorted(results) == [False] * 5 + [True]


async def test_nonces_past_their_time_are_forgotten(engine: AsyncEngine) -> None:
    used = SqlUsedStates(engine)
    await used.claim("old", max_age=600)
    await used.claim("recent", max_age=600)
    async with engine.begin() as connection:
        await connection.execute(
            update(_table)
            .where(_table.c.nonce == "old")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    await used.claim("new", max_age=600)
    assert set(await kept(engine)) == {"recent", "new"}
