"""Browser fixtures: Playwright driving Debian's Chromium (never a downloaded browser).

These tests use Playwright's sync API, so they are plain (non-async) tests. While sync Playwright runs
it holds an event loop on this thread, which would break the asyncio tests of other folders; so the
browser lives per module (started by a module's first test, stopped after its last), and no module
mixes browser tests with asyncio tests.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

CHROMIUM = os.environ.get("WAPIPE_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is required at {CHROMIUM} (run `make test`, which installs Debian's chromium, "
            "or set WAPIPE_CHROMIUM)",
            pytrace=False,
        )
    with tempfile.TemporaryDirectory(prefix="wapipe-chromium-"):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def artifacts() -> Path:
    """Where browser tests save screenshots (linked from the README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
