from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.pipedrive.contract import ContractChecker
from tests.pipedrive.fakes import FakeClock, FakePipedrive, Harness, make_harness
from tests.pipedrive.limiters import Limiters


@pytest.fixture(scope="session")
def contract() -> ContractChecker:
    """Pipedrive's OpenAPI documents, loaded once per test session."""
    return ContractChecker()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> FakePipedrive:
    return FakePipedrive(clock=clock)


@pytest.fixture
async def http(fake: FakePipedrive) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=fake.transport(), timeout=httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def harness(fake: FakePipedrive, http: httpx.AsyncClient, clock: FakeClock) -> Harness:
    return make_harness(fake, http, clock)


@pytest.fixture(params=["memory", "redis"])
async def limiters(request: pytest.FixtureRequest) -> AsyncIterator[Limiters]:
    """Each limit test runs on both limiters: in this process, and on the real Redis."""
    if request.param == "memory":
        yield Limiters(None)
        return
    redis = Redis.from_url(request.getfixturevalue("redis_url"))
    yield Limiters(redis)
    await redis.aclose()
