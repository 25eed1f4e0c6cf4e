"""The embedded demo: WaPipe and the Pipedrive sandbox side by side on loopback, with seeded data.

A composition root like ``server.web.app``: the only place outside the tests that builds the sandboxes.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import uvicorn

from sandbox.pipedrive.app import create_app as create_pipedrive_sandbox
from sandbox.pipedrive.seed import ALL_SCOPES, seed_demo
from sandbox.pipedrive.state import Clock, SandboxState
from server.settings import Settings
from server.web.app import create_app


@dataclass(frozen=True)
class DemoAddresses:
    wapipe: str
    pipedrive: str


def demo_addresses(host: str, port: int, pipedrive_port: int) -> DemoAddresses:
    return DemoAddresses(wapipe=f"http://{host}:{port}", pipedrive=f"http://{host}:{pipedrive_port}")


def demo_settings_overrides(addresses: DemoAddresses) -> dict[str, object]:
    """Point WaPipe at the sandboxes and keep everything embedded (SQLite, in-process jobs)."""
    return {
        "redis_url": "",
        "database_url": "",
        "public_url": addresses.wapipe,
        "pipedrive_oauth_url": addresses.pipedrive,
        "pipedrive_api_url": addresses.pipedrive,
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
    return state


async def serve_demo(settings: Settings, host: str, port: int, pipedrive_port: int) -> None:
    addresses = demo_addresses(host, port, pipedrive_port)
    sandbox = create_pipedrive_sandbox(build_pipedrive_sandbox(settings, addresses))
    servers = [
        uvicorn.Server(uvicorn.Config(create_app(settings), host=host, port=port, log_config=None)),
        uvicorn.Server(uvicorn.Config(sandbox, host=host, port=pipedrive_port, log_config=None)),
    ]
    await asyncio.gather(*(server.serve() for server in servers))
