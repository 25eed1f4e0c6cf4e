"""Media is fetched only from the gateway's file paths (``/api/files/…``, where WAHA serves downloaded media),
with the API key; a media URL on the gateway's own origin but any other path is refused by name before a
request is made, so the key never reaches another of the gateway's endpoints. Against the WAHA sandbox,
which records every request it receives."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from server.domain.errors import MediaOriginRefused
from server.domain.whatsapp import MediaKind, MediaRef
from tests.whatsapp.waha_sandbox_world import ACCOUNT, API_KEY, GATEWAY, JONAS, World, open_world


@pytest.fixture
async def linked() -> AsyncIterator[World]:
    async for world in open_world():
        await world.link()
        world.received.clear()
        yield world


async def fetch(world: World, locator: str) -> bytes:
    media = MediaRef(kind=MediaKind.IMAGE, locator=locator, mime="image/jpeg")
    return b"".join([chunk async for chunk in world.waha.fetch_media(ACCOUNT, media)])


async def test_a_file_of_the_gateway_is_fetched_with_the_api_key(linked: World) -> None:
    linked.sim.receive(ACCOUNT, JONAS, kind="image")
    [photo] = await linked.messages()
    assert photo.media is not None and photo.media.locator is not None
    linked.received.clear()
    assert await fetch(linked, photo.media.locator)
    [request] = linked.received
    assert request.method == "GET" and request.path.startswith("/api/files/")
    assert request.api_key == API_KEY


@pytest.mark.parametrize(
    "locator",
    [
        f"{GATEWAY}/api/sessions",
        "/api/sessions",
        f"{GATEWAY}/api/sessions/{ACCOUNT}/me",
        f"{GATEWAY}/api/server/environment",
        f"{GATEWAY}/api/files/../sessions",
        f"{GATEWAY}/api/files/x/../../sessions",
        f"{GATEWAY}/api/files/%2e%2e/sessions",
        f"{GATEWAY}/api/files/%2E%2E/sessions",
        f"{GATEWAY}/api/files/.%2e/sessions",
        f"{GATEWAY}/api/files/%2e/x.jpg",
        f"{GATEWAY}/api/files/..%2fsessions",
        f"{GATEWAY}/api/files/x%2F..%2F..%2Fsessions",
        f"{GATEWAY}/api/files/..%5csessions",
        f"{GATEWAY}/api/files/x.jpg%00.png",
        f"{GATEWAY}/api/files/",
        f"{GATEWAY}/api/files",
        f"{GATEWAY}/api/files//x.jpg",
        f"{GATEWAY}/api/filesx/x.jpg",
        f"{GATEWAY}/API/FILES/x.jpg",
        f"{GATEWAY}/api/files/x.jpg?session=default",
        f"{GATEWAY}/x/api/files/x.jpg",
    ],
)
async def test_another_path_on_the_gateway_is_refused_and_nothing_is_sent(
    linked: World, locator: str
) -> None:
    with pytest.raises(MediaOriginRefused) as refused:
        await fetch(linked, locator)
    assert refused.value.reason == "media_path_refused"
    assert "/api/files/" in refused.value.message
    assert linked.received == []


@pytest.mark.parametrize(
    "locator",
    [
        "//evil.example/api/files/x.jpg",
        "http://evil.example/api/files/x.jpg",
        f"http://user:secret@{GATEWAY.removeprefix('http://')}/api/files/x.jpg",
        f"http://{GATEWAY.removeprefix('http://')}@evil.example/api/files/x.jpg",
    ],
    ids=["scheme-relative", "another-host", "userinfo", "userinfo-naming-the-gateway"],
)
async def test_another_origin_is_refused_and_nothing_is_sent(linked: World, locator: str) -> None:
    with pytest.raises(MediaOriginRefused) as refused:
        await fetch(linked, locator)
    assert refused.value.reason == "media_origin_refused"
    assert linked.received == []
