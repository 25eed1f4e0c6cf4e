"""The campaign pages over HTTP, in the panel's world: Anna's company (Persons with and without phones,
her number linked) and Grace's company beside it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from server.settings import Settings
from tests.panel.world import PanelWorld, panel_world
from tests.world import world_settings_overrides


@pytest.fixture
async def world(make_settings: Callable[..., Settings]) -> AsyncIterator[PanelWorld]:
    async with panel_world(make_settings(**world_settings_overrides())) as world:
        yield world
