"""One tenancy world per backend for the whole module: building companies A and B (installed, numbers
linked, chats, files and a campaign each, synced) is most of each test's time, and every test compares
snapshots it takes itself, so they can share one. The test that forges a link of A's chat runs last."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio

from tests.conftest import migrated_url, settings_in
from tests.security.world import TenancyWorld, tenancy_world
from tests.world import world_settings_overrides

METRICS_TOKEN = "tenancy-metrics-token-0123456789abcdef"  # the operator's Prometheus


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def shared_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A database at the newest schema for the module's tests, on each backend."""
    with migrated_url(request, tmp_path_factory.mktemp("tenancy")) as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(
    shared_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TenancyWorld]:
    """Companies A and B on SQLite and on PostgreSQL."""
    folder = tmp_path_factory.mktemp("tenancy-var")
    # The world's clock skips the waits of the jobs it drains; the web process's own beat (real time)
    # must not look silent after a skip: the probes check what each company sees, not liveness.
    settings = settings_in(
        folder,
        database_url=shared_database_url,
        metrics_token=METRICS_TOKEN,
        heartbeat_every=300,
        **world_settings_overrides(),
    )
    async with tenancy_world(settings) as world:
        yield world
