from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from server.settings import Settings
from tests.security.world import TenancyWorld, tenancy_world
from tests.world import world_settings_overrides


@pytest.fixture
async def world(
    make_settings: Callable[..., Settings], migrated_database_url: str
) -> AsyncIterator[TenancyWorld]:
    """Companies A and B on SQLite and on PostgreSQL."""
    settings = make_settings(database_url=migrated_database_url, **world_settings_overrides())
    async with tenancy_world(settings) as world:
        yield world
