"""The embedded demo: WaPipe beside the Pipedrive and WAHA sandboxes on loopback, with seeded data.

A composition root like ``server.web.app``: the only place outside the tests that builds the sandboxes.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

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
from server.domain.phone_numbers import to_e164
from server.settings import Settings
from server.web.app import create_app

FIRST_COMPANY_REGION = "DE"  # Acme Sales GmbH, in Berlin: how its national numbers read
APP_NAME = "WaPipe"  # the name Pipedrive shows for the app: consent page, panel header, app settings


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
    """Point WaPipe at the sandboxes and keep everything embedded (SQLite, in-process jobs, attachments in
    ``var/media``: every demo starts from an empty database, so nothing would find a bucket's files again)."""
    return {
        "redis_url": "",
        "database_url": "",
        "media_s3_bucket": "",
        "media_s3_endpoint": "",
        "media_s3_access_key_id": "",
        "media_s3_secret_access_key": "",
        "media_s3_prefix": "",
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
        name=APP_NAME,
    )
    configure_host_app(
        state,
        settings.pipedrive_client_id,
        panel_url=f"{addresses.wapipe}/panel",
        settings_url=f"{addresses.wapipe}/settings",
        modal_url=f"{addresses.wapipe}/campaigns/modal",
    )
    return state


def build_waha_sandbox(settings: Settings, addresses: DemoAddresses) -> WahaState:
    """A WhatsApp gateway on the wall clock whose phone has some history to import once linked, and whose
    phone page offers the first company's Persons as the people who write."""
    return WahaState(
        clock=WahaClock(follow_wall_clock=True), public_url=addresses.waha, contacts=demo_contacts()
    )


def demo_contacts() -> list[tuple[str, str]]:
    """The seeded Persons of the demo's first company by name and E.164 number, each number once (under
    the first Person who has it), in the order Pipedrive lists them."""
    seeded = SandboxState()
    world = seed_demo(seeded)
    company = world.companies[0]
    contacts: dict[str, str] = {}
    for person in seeded.company_data(company.id).persons.values():
        for phone in person["phones"]:
            e164 = to_e164(phone["value"], FIRST_COMPANY_REGION)
            if e164 is not None:
                contacts.setdefault(e164, person["name"])
    return [(name, e164) for e164, name in contacts.items()]


async def serve_demo(
    settings: Settings,
    addresses: DemoAddresses,
    sockets: Sequence[socket.socket],
    *,
    wapipe: Starlette | None = None,
    bootstrap: bool = False,
    log_file: Path | None = None,
) -> None:
    """Serve the three apps on their listening ``sockets`` (WaPipe's, Pipedrive's, WAHA's) until cancelled;
    ``wapipe`` is WaPipe's app when the caller built it, else one is built from ``settings``.
    ``bootstrap``: once they answer, install WaPipe as the first company's admin and link a number, then
    print where to click (and where the full log is)."""
    pipedrive = create_pipedrive_sandbox(build_pipedrive_sandbox(settings, addresses))
    waha = create_waha_sandbox(
        build_waha_sandbox(settings, addresses), api_key=settings.waha_api_key.get_secret_value()
    )
    apps = [wapipe or create_app(settings), pipedrive, waha]
    servers = [
        (uvicorn.Server(uvicorn.Config(app, log_config=None)), sock)
        for app, sock in zip(apps, sockets, strict=True)
    ]
    tasks = [server.serve(sockets=[sock]) for server, sock in servers]
    if bootstrap:
        tasks.append(_bootstrap_and_tell(settings, addresses, log_file))
    await asyncio.gather(*tasks)


async def _bootstrap_and_tell(settings: Settings, addresses: DemoAddresses, log_file: Path | None) -> None:
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
    print(
        where_to_click(ready, addresses.wapipe, addresses.pipedrive, addresses.waha, log_file=log_file),
        flush=True,
    )
