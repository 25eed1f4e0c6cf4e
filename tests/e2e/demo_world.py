"""The demo composition (WaPipe + Pipedrive sandbox + WhatsApp sandbox) served on free loopback ports in a
background thread, for browser tests that cross all three."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from server.demo import DemoAddresses, demo_addresses, demo_settings_overrides, serve_demo
from server.settings import Mode, Settings, load_settings
from server.storage.migrate import upgrade
from tests.e2e.live_server import free_port


@contextlib.contextmanager
def running_demo(var_dir: Path) -> Iterator[tuple[Settings, DemoAddresses]]:
    addresses = demo_addresses("127.0.0.1", free_port(), free_port(), free_port())
    settings = load_settings(
        mode=Mode.DEMO, var_dir=var_dir, log_format="text", **demo_settings_overrides(addresses)
    )
    upgrade(settings.effective_database_url)
    loop = asyncio.new_event_loop()
    task: asyncio.Future[None] | None = None

    def run() -> None:
        nonlocal task
        asyncio.set_event_loop(loop)
        task = asyncio.ensure_future(serve_demo(settings, "127.0.0.1", addresses))
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
        yield settings, addresses
    finally:
        if task is not None:
            loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=15)
