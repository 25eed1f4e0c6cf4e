"""The embedded demo: WaPipe beside the Pipedrive and WAHA sandboxes on loopback, with seeded data.

A composition root like ``server.web.app``: the only place outside the tests that builds the sandboxes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx
import uvicorn
from starlette.applications import Starlette

from sandbox.pipedrive.app import create_app as create_pipedrive_sandbox
from sandbox.pipedrive.host import configure_host_app
from sandbox.pipedrive.seed import ALL_SCOPES, seed_demo
from sandbox.pipedrive.state import Clock, SandboxState
from sandbox.waha.app import create_app as create_waha_sandbox
from sandbox.waha.clock import Clock as WahaClock
from sandbox.waha.state import SandboxState as WahaState
from server.demo_bootstrap import BootstrapFailed, bootstrap_demo, where_to_click
from server.settings import Settings
from server.web.app import create_app


@dataclass(frozen=True)
class DemoAddresses:
    wapipe: str
    pipedrive: str
    waha: str


def demo_addresses(host: str, port: int, pipedrive_port: int, waha_port: int) -> DemoAddresses:
    return DemoAddresses(
        wapipe=f"http://{host}:{port}",
        pipedrive=f"http://{host}:{pipedrive_port}",
        waha=f"http://{host}:{waha_port}",
    )


def demo_settings_overrides(addresses: DemoAddresses) -> dict[str, object]:
    """Point WaPipe at the sandboxes and keep everything embedded (SQLite, in-process jobs)."""
    return {
        "redis_url": "",
        "database_url": "",
        "public_url": addresses.wapipe,
        "pipedrive_oauth_url": addresses.pipedrive,
        "pipedrive_api_url": addresses.pipedrive,
        "waha_url": addresses.waha,
    }


def build_pipedrive_sandbox(settings: Settings, addresses: DemoAddresses) -> SandboxState:
    """A seeded Pipedrive on the wall clock, with WaPipe registered as an app."""
    state = SandboxState(clock=Clock(follow_wall_clock=True), base_url=addresses.pipedrive)
    seed_demo(state)
    state.add_client(
        settings.pipedrive_client_id,
        settings.pipedrive_client_secret.get_secret_value(),
        f"{addresses.wapipe}/oauth/callback",
        list(ALL_SCOPES),
        jwt_secret=settings.pipedrive_jwt_secret.get_secret_value(),
    )
    configure_host_app(
        state,
        settings.pipedrive_client_id,
        panel_url=f"{addresses.wapipe}/panel",
        settings_url=f"{addresses.wapipe}/settings",
    )
    return state


def build_waha_sandbox(settings: Settings, addresses: DemoAddresses) -> WahaState:
    """A WhatsApp gateway on the wall clock whose phone has some history to import once linked."""
    return WahaState(clock=WahaClock(follow_wall_clock=True), public_url=addresses.waha)


async def serve_demo(
    settings: Settings,
    host: str,
    addresses: DemoAddresses,
    *,
    wapipe: Starlette | None = None,
    bootstrap: bool = False,
) -> None:
    """Serve the three apps until cancelled; ``wapipe`` is WaPipe's app when the caller built it (browser
    tests that reach into it), else one is built from ``settings``. ``bootstrap``: once they answer,
    install WaPipe as the first company's admin and link a number, then print where to click."""
    pipedrive = create_pipedrive_sandbox(build_pipedrive_sandbox(settings, addresses))
    waha = create_waha_sandbox(
        build_waha_sandbox(settings, addresses), api_key=settings.waha_api_key.get_secret_value()
    )
    apps = [
        (wapipe or create_app(settings), addresses.wapipe),
        (pipedrive, addresses.pipedrive),
        (waha, addresses.waha),
    ]
    servers = [
        uvicorn.Server(uvicorn.Config(app, host=host, port=int(url.rsplit(":", 1)[1]), log_config=None))
        for app, url in apps
    ]
    tasks = [server.serve() for server in servers]
    if bootstrap:
        tasks.append(_bootstrap_and_tell(settings, addresses))
    await asyncio.gather(*tasks)


async def _bootstrap_and_tell(settings: Settings, addresses: DemoAddresses) -> None:
    try:
        ready = await bootstrap_demo(settings, addresses.wapipe, addresses.pipedrive, addresses.waha)
    except (BootstrapFailed, httpx.HTTPError) as error:
        print(
            f"\n  The demo could not install and link a number by itself ({error}).\n"
            f"  Do it by hand: open {addresses.wapipe}/install, Allow, then "
            f"{addresses.pipedrive}/host/settings and Link my WhatsApp number.\n",
            flush=True,
        )
        return
    print(where_to_click(ready, addresses.wapipe, addresses.pipedrive, addresses.waha), flush=True)
