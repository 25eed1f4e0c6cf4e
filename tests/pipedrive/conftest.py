from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.pipedrive.contract import ContractChecker
from tests.pipedrive.fakes import FakeClock, FakePipedrive, Harness, make_harness


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
