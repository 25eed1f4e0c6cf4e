"""The demo composition (WaPipe + Pipedrive sandbox + WhatsApp sandbox) served on free loopback ports in a
background thread, for browser tests that cross all three."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
from starlette.applications import Starlette

from server.demo import DemoAddresses, demo_addresses, demo_settings_overrides, serve_demo
from server.settings import Mode, Settings, load_settings
from server.storage.migrate import upgrade
from server.web.app import create_app
from server.web.resources import Resources
from tests.e2e.live_server import free_port

T = TypeVar("T")

# The demo runs on the wall clock, and a browser test waits for what it shows. These tests drive the
# pages, not the lengths of the waits: the burst window is tested on the controlled clock (tests/sync,
# tests/jobs), the pages' poll intervals in tests/panel/test_poll_intervals.py.
QUICK_WAITS = {"sync_burst_window": 0.3, "conversation_poll": 0.5, "progress_poll": 0.5}


@dataclass(frozen=True)
class DemoRuntime:
    """The running demo, for tests that also reach into WaPipe (its resources live on ``loop``)."""

    settings: Settings
    addresses: DemoAddresses
    app: Starlette
    loop: asyncio.AbstractEventLoop

    @property
    def resources(self) -> Resources:
        resources: Resources = self.app.state.resources
        return resources

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on the demo's event loop (where its engine and clients live) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)


@contextlib.contextmanager
def running_demo_runtime(var_dir: Path) -> Iterator[DemoRuntime]:
    addresses = demo_addresses("127.0.0.1", free_port(), free_port(), free_port())
    settings = load_settings(
        mode=Mode.DEMO,
        var_dir=var_dir,
        log_format="text",
        **QUICK_WAITS,
        **demo_settings_overrides(addresses),
    )
    upgrade(settings.effective_database_url)
    app = create_app(settings)
    loop = asyncio.new_event_loop()
    task: asyncio.Future[None] | None = None

    def run() -> None:
        nonlocal task
        asyncio.set_event_loop(loop)
        task = asyncio.ensure_future(serve_demo(settings, "127.0.0.1", addresses, wapipe=app))
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=run, name="demo", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    for url in (addresses.wapipe + "/healthz", addresses.pipedrive + "/", addresses.waha + "/api/sessions"):
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the demo did not answer at {url}") from None
                time.sleep(0.1)
    try:
        yield DemoRuntime(settings, addresses, app, loop)
    finally:
        if task is not None:
            loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=15)


@contextlib.contextmanager
def running_demo(var_dir: Path) -> Iterator[tuple[Settings, DemoAddresses]]:
    with running_demo_runtime(var_dir) as runtime:
        yield runtime.settings, runtime.addresses
