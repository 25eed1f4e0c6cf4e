from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from server.whatsapp.waha import WahaTransport
from tests.whatsapp.waha_fake import API_KEY, BASE_URL, FakeWaha
from tests.whatsapp.waha_samples import HMAC_KEY, NOW_MS
from tests.whatsapp.waha_sandbox_world import World, open_world

NOW = datetime.fromtimestamp(NOW_MS / 1000, UTC)


@pytest.fixture
def fake_waha() -> FakeWaha:
    return FakeWaha()


@pytest.fixture
async def waha_http(fake_waha: FakeWaha) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=BASE_URL, headers={"X-Api-Key": API_KEY}, transport=httpx.MockTransport(fake_waha.handle)
    ) as http:
        yield http


@pytest.fixture
def waha(waha_http: httpx.AsyncClient) -> WahaTransport:
    return WahaTransport(
        waha_http,
        webhook_url="https://wapipe.test/webhooks/waha",
        hmac_key=HMAC_KEY,
        clock=lambda: NOW,
        max_media_bytes=1024,
    )


@pytest.fixture
async def world() -> AsyncIterator[World]:
    """The WAHA adapter against the WAHA sandbox (see ``waha_sandbox_world``)."""
    async for opened in open_world():
        yield opened


@pytest.fixture
async def linked(world: World) -> World:
    """``world`` with the account connected, scanned and its linking events consumed."""
    await world.link()
    return world
