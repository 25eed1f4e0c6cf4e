"""Browser fixtures: Playwright driving Debian's Chromium (never a downloaded browser).

One Chromium runs for the whole run (per worker when the run is parallel); every test gets a fresh
browser context (its own cookies, storage and pages). The demo's two sandboxes also run once per worker
(``demo_sandboxes``); each demo resets them for its own WaPipe (``tests/e2e/demo_world.py``).

These tests use Playwright's sync API, so they are plain (non-async) tests. While sync Playwright runs it
holds an event loop on this thread, which would break the asyncio tests of other folders; so Playwright
itself connects per module (to the running Chromium, over the DevTools protocol) and disconnects after the
module's last test, and no module mixes browser tests with asyncio tests.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from server.demo import DemoAddresses
from server.demo_bootstrap import DEMO_NUMBER, bootstrap_demo
from server.settings import Settings
from tests.e2e.demo_world import DemoRuntime, DemoSandboxes, running_demo_runtime, running_sandboxes
from tests.e2e.panel_helpers import ANNA_NUMBER

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


@pytest.fixture(scope="session")
def chromium() -> Iterator[str]:
    """Debian's Chromium, started once; its DevTools address."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(
            f"Chromium is required at {CHROMIUM} (run `make test`, which installs Debian's chromium, "
            "or set WAPIPE_CHROMIUM)",
            pytrace=False,
        )
    # Chromium's helper processes may still write to the profile as the browser exits; the profile is
    # thrown away, so a file left behind is not an error.
    with tempfile.TemporaryDirectory(prefix="wapipe-chromium-", ignore_cleanup_errors=True) as profile:
        log = Path(profile) / "chromium.log"
        with log.open("w") as stderr:
            process = subprocess.Popen(
                [
                    CHROMIUM,
                    "--headless",
                    *CHROMIUM_ARGS,
                    "--remote-debugging-address=127.0.0.1",
                    "--remote-debugging-port=0",
                    f"--user-data-dir={profile}/data",
                    "about:blank",
                ],
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )
        try:
            yield _devtools_address(process, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _devtools_address(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = re.search(r"DevTools listening on (ws://\S+)", log.read_text(errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            break
        time.sleep(0.05)
    pytest.fail(
        f"Chromium at {CHROMIUM} did not start: {log.read_text(errors='replace')[-2000:]}", pytrace=False
    )


@pytest.fixture(scope="session")
def demo_sandboxes() -> Iterator[DemoSandboxes]:
    """The Pipedrive and WAHA sandboxes every demo of this worker uses, each reset for it."""
    with running_sandboxes() as sandboxes:
        yield sandboxes


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium: str) -> Iterator[Browser]:
    """The session's Chromium, as this module's Playwright sees it (disconnected after the module)."""
    browser = playwright.chromium.connect_over_cdp(chromium)
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
    """Where browser tests save screenshots (linked from docs/panel.md)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def runtime(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, demo_sandboxes: DemoSandboxes
) -> Iterator[DemoRuntime]:
    """One demo for all the module's tests, for tests that also reach into WaPipe. Its tests share it:
    each one that needs a state of its own (a company not installed yet, a chat nobody wrote in) makes it
    (another company, another contact) or sets it (the settings it relies on), whatever ran before."""
    name = request.module.__name__.rsplit(".", 1)[-1]
    with running_demo_runtime(tmp_path_factory.mktemp(name), demo_sandboxes) as running:
        yield running


@pytest.fixture(scope="module")
def demo(runtime: DemoRuntime) -> tuple[Settings, DemoAddresses]:
    """The module's demo: its settings and addresses."""
    return runtime.settings, runtime.addresses


@pytest.fixture(scope="module")
def session(demo: tuple[Settings, DemoAddresses]) -> str:
    """Anna installed WaPipe and linked her number with the simulated phone (once for the module), over
    HTTP through the same pages and callbacks, as `make demo` does it (``bootstrap_demo``); the WAHA
    session's name. ``test_install.py`` and ``test_link_number.py`` take these steps in the browser."""
    settings, addresses = demo
    with concurrent.futures.ThreadPoolExecutor(1) as thread:  # sync Playwright holds this thread's loop
        ready = thread.submit(
            asyncio.run, bootstrap_demo(settings, addresses.wapipe, addresses.pipedrive, addresses.waha)
        ).result()
    assert ready.admin_name == "Anna Admin" and DEMO_NUMBER == ANNA_NUMBER
    return ready.session
