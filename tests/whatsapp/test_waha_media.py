from __future__ import annotations

import httpx
import pytest

from server.domain.errors import GatewayUnavailable, MediaExpired, MediaOriginRefused, MediaTooLarge
from server.domain.whatsapp import MediaKind, MediaRef
from server.whatsapp.waha import WahaTransport
from tests.whatsapp.waha_fake import FakeWaha

FILE = "/api/files/acct-7/3EB0AA.jpg"


def ref(locator: str | None, size: int | None = None) -> MediaRef:
    return MediaRef(kind=MediaKind.IMAGE, locator=locator, mime="image/jpeg", size=size)


async def fetch(waha: WahaTransport, media: MediaRef) -> bytes:
    return b"".join([chunk async for chunk in waha.fetch_media("acct-7", media)])


async def test_streams_from_the_gateway_with_the_api_key(waha: WahaTransport, fake_waha: FakeWaha) -> None:
    fake_waha.on_call("GET", FILE, lambda _r: httpx.Response(200, content=b"jpeg-bytes"))
    assert await fetch(waha, ref(f"http://waha.test:3000{FILE}")) == b"jpeg-bytes"
    assert await fetch(waha, ref(FILE)) == b"jpeg-bytes"  # a relative URL resolves against the gateway


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://waha.test:3001/api/files/x.jpg",  # another port
        "https://waha.test:3000/api/files/x.jpg",  # another scheme
        "http://waha.test.evil.example:3000/api/files/x.jpg",
        "http://evil.example@waha.test:3000/api/files/x.jpg",  # credentials in the URL
        "//evil.example/api/files/x.jpg",  # scheme-relative
        "file:///etc/passwd",
    ],
)
async def test_refuses_any_other_origin(waha: WahaTransport, fake_waha: FakeWaha, url: str) -> None:
    with pytest.raises(MediaOriginRefused) as caught:
        await fetch(waha, ref(url))
    assert caught.value.reason == "media_origin_refused"
    assert fake_waha.requests == []  # nothing was requested


async def test_redirects_are_not_followed(waha: WahaTransport, fake_waha: FakeWaha) -> None:
    fake_waha.on_call(
        "GET", FILE, lambda _r: httpx.Response(302, headers={"Location": "http://169.254.169.254/"})
    )
    with pytest.raises(MediaOriginRefused):
        await fetch(waha, ref(FILE))
    assert len(fake_waha.requests) == 1


async def test_size_cap_by_declared_length(waha: WahaTransport, fake_waha: FakeWaha) -> None:
    fake_waha.on_call("GET", FILE, lambda _r: httpx.Response(200, content=b"x" * 2048))
    with pytest.raises(MediaTooLarge) as caught:
        await fetch(waha, ref(FILE))
    assert caught.value.reason == "media_too_large"


async def test_size_cap_while_streaming_without_length(waha: WahaTransport, fake_waha: FakeWaha) -> None:
    sent: list[int] = []

    async def chunks() -> object:
        for _ in range(100):
            sent.append(1)
            yield b"y" * 300

    fake_waha.on_call("GET", FILE, lambda _r: httpx.Response(200, content=chunks()))  # type: ignore[arg-type]
    received: list[bytes] = []

    async def consume() -> None:
        async for chunk in waha.fetch_media("acct-7", ref(FILE)):
            received.append(chunk)

    with pytest.raises(MediaTooLarge):
        await consume()
    assert sum(map(len, received)) <= 1024
    assert len(sent) < 100  # stopped reading early


async def test_declared_size_over_the_cap_is_refused_before_any_request(
    waha: WahaTransport, fake_waha: FakeWaha
) -> None:
    with pytest.raises(MediaTooLarge):
        await fetch(waha, ref(FILE, size=10_000))
    assert fake_waha.requests == []


@pytest.mark.parametrize("status", [403, 404, 410])
async def test_expired_files(waha: WahaTransport, fake_waha: FakeWaha, status: int) -> None:
    fake_waha.on_call("GET", FILE, lambda _r: httpx.Response(status))
    with pytest.raises(MediaExpired) as caught:
        await fetch(waha, ref(FILE))
    assert caught.value.reason == "media_expired"


async def test_media_without_a_file(waha: WahaTransport) -> None:
    with pytest.raises(MediaExpired):
        await fetch(waha, ref(None))


async def test_gateway_failure_is_transient(waha: WahaTransport, fake_waha: FakeWaha) -> None:
    def fail(_request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow")

    fake_waha.on_call("GET", FILE, fail)
    with pytest.raises(GatewayUnavailable):
        await fetch(waha, ref(FILE))


@pytest.mark.parametrize("declared", ["1" * 5000, "99999999999999999999"], ids=["5000-digits", "20-digits"])
async def test_a_declared_length_beyond_any_file_is_too_large(
    waha: WahaTransport, fake_waha: FakeWaha, declared: str
) -> None:
    fake_waha.on_call(
        "GET", FILE, lambda _r: httpx.Response(200, headers={"content-length": declared}, content=b"x")
    )
    with pytest.raises(MediaTooLarge) as caught:
        await fetch(waha, ref(FILE))
    assert caught.value.reason == "media_too_large"
