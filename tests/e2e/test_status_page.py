"""Our own page, in Chromium, with htmx swapping a fragment on click."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from server.settings import Settings
from server.storage.migrate import upgrade
from server.web.app import create_app
from tests.e2e.live_server import free_port, serve


@pytest.fixture
def base_url(make_settings: Callable[..., Settings]) -> Iterator[str]:
    port = free_port()  # WaPipe's pages load scripts from its public address only: serve it there
    settings = make_settings(public_url=f"http://127.0.0.1:{port}")
    upgrade(settings.effective_database_url)
    with serve(create_app(settings), port=port) as url:
        yield url


def test_htmx_swaps_the_status_fragment_on_click(page: Page, base_url: str, artifacts: Path) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    page.goto(base_url + "/")
    expect(page.locator("#status h2")).to_have_text("All systems working")
    assert page.evaluate("window.htmx && window.htmx.version").startswith("2.")
    before = page.locator("#status").get_attribute("data-checked-at")

    with page.expect_response(lambda r: r.url.endswith("/status")) as response_info:
        page.click("#refresh-status")
    response = response_info.value
    assert response.status == 200
    assert response.request.headers.get("hx-request") == "true"

    expect(page.locator("#status")).not_to_have_attribute("data-checked-at", before or "")
    expect(page.locator("#status")).to_have_count(1)
    expect(page.locator("[data-check=database]")).to_have_class("ok")
    expect(page.locator("[data-check=queue]")).to_have_class("ok")
    page.screenshot(path=str(artifacts / "status-page.png"), full_page=True)

    assert all(url.startswith(base_url) for url in requests), requests
    assert not [line for line in console if line.startswith("error")], console
