from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.sync.world import SyncWorld, sync_world


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> AsyncIterator[SyncWorld]:
    async with sync_world(sqlite_url, tmp_path) as world:
        yield world
