"""The demo composition (WaPipe + Pipedrive sandbox + WhatsApp sandbox) on loopback ports, for browser tests
that cross all three.

The two sandboxes are served once per worker (``demo_sandboxes`` in ``tests/e2e/conftest.py``) in one
background thread. Every demo a test asks for resets them through their control endpoints and seeds them
as a fresh demo has them (``build_pipedrive_sandbox``/``build_waha_sandbox`` in ``server/demo.py``), then
serves a new WaPipe (new app, a database copied from the migrated template, its own port) against them in
a thread of its own, so nothing of an earlier WaPipe or an earlier test is left anywhere."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp

from sandbox.pipedrive.app import create_app as create_pipedrive_sandbox
from sandbox.pipedrive.state import Clock, SandboxState
from sandbox.waha.app import create_app as create_waha_sandbox
from server.demo import APP_NAME, DemoAddresses, build_waha_sandbox, demo_settings_overrides
from server.domain.clock import ControlledClock
from server.jobs.inprocess import InProcessQueue
from server.settings import Mode, Settings, load_settings
from server.web.app import create_app
from server.web.resources import Resources, Upstreams
from tests.world import migrated_database

T = TypeVar("T")
HOST = "127.0.0.1"

# The demo runs on the wall clock, and a browser test waits for what it shows. These tests drive the
# pages, not the lengths of the waits: the burst window is tested on the controlled clock (tests/sync,
# tests/jobs), the pages' poll intervals in tests/panel/test_poll_intervals.py. A wait a test must see
# pass without sitting through it (a campaign's gap between two messages) is skipped with
# ``DemoRuntime.pass_time``.
QUICK_WAITS = {
    "sync_burst_window": 0.3,
    "busy_retry": 0.2,
    "retry_base": 0.5,
    "media_retry_base": 0.5,
    "conversation_poll": 0.5,
    "progress_poll": 0.5,
    "campaign_poll": 0.5,
}


def demo_settings(var_dir: Path, wapipe: str, sandboxes: DemoSandboxes, **overrides: object) -> Settings:
    """A demo WaPipe's settings, pointed at the sandboxes (``demo_settings_overrides``); ``overrides`` are
    a module's own settings."""
    addresses = DemoAddresses(wapipe=wapipe, pipedrive=sandboxes.pipedrive, waha=sandboxes.waha)
    chosen: dict[str, object] = {"log_format": "text", **QUICK_WAITS, **overrides}
    return load_settings(mode=Mode.DEMO, var_dir=var_dir, **chosen, **demo_settings_overrides(addresses))


@dataclass(frozen=True)
class DemoSandboxes:
    """The demo's Pipedrive and WAHA sandboxes, served for the whole run; ``reset_for`` hands them to the
    next WaPipe."""

    pipedrive: str
    waha: str
    waha_api_key: str
    http: httpx.Client  # for the control calls and WaPipe's first answer (one client: a new one costs)

    def reset_for(self, settings: Settings, addresses: DemoAddresses) -> None:
        """Through their control endpoints: forget everything (sessions and their webhooks, persons, OAuth
        codes, grants and tokens, fault switches, rate-limit windows, budgets, settings; both clocks back
        on the wall clock), then the demo's seed and WaPipe at ``addresses`` registered as the OAuth app
        with its panel and settings pages, as ``build_pipedrive_sandbox`` sets up a fresh demo."""
        secret = settings.pipedrive_client_secret.get_secret_value()
        app = {
            "client_id": settings.pipedrive_client_id,
            "client_secret": secret,
            "redirect_uri": f"{addresses.wapipe}/oauth/callback",
            "jwt_secret": settings.pipedrive_jwt_secret.get_secret_value(),
            "name": APP_NAME,
        }
        pages = {
            "client_id": settings.pipedrive_client_id,
            "panel_url": f"{addresses.wapipe}/panel",
            "settings_url": f"{addresses.wapipe}/settings",
            "modal_url": f"{addresses.wapipe}/campaigns/modal",
        }
        calls: list[tuple[str, dict[str, str] | None]] = [
            (f"{self.pipedrive}/_sandbox/reset", None),
            (f"{self.pipedrive}/_sandbox/seed/demo", None),
            (f"{self.pipedrive}/_sandbox/clients", app),
            (f"{self.pipedrive}/_sandbox/host/apps", pages),
            (f"{self.waha}/_sim/reset", None),
        ]
        for url, body in calls:
            answer = self.http.post(url, json=body)
            if answer.status_code >= 300:
                raise RuntimeError(
                    f"resetting the sandboxes: {url} answered {answer.status_code} {answer.text}"
                )


@dataclass(frozen=True)
class DemoRuntime:
    """The running demo, for tests that also reach into WaPipe (its resources live on ``loop``)."""

    settings: Settings
    addresses: DemoAddresses
    app: Starlette
    loop: asyncio.AbstractEventLoop
    clock: ControlledClock  # WaPipe's: the wall clock until a test skips time (``pass_time``)

    @property
    def resources(self) -> Resources:
        resources: Resources = self.app.state.resources
        return resources

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        """Run a coroutine on WaPipe's event loop (where its engine and clients live) and wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def pass_time(self, seconds: float) -> None:
        """``seconds`` pass at once for WaPipe and the WhatsApp sandbox (their clocks move on together, so
        the phone's messages and WaPipe's stay in order), and every WaPipe job due by then has run when this
        returns. The Pipedrive sandbox stays on the wall clock: it signs the panels' tokens, which WaPipe
        checks against the system's time."""
        httpx.post(
            f"{self.addresses.waha}/_sim/clock", json={"advance": seconds}, timeout=10
        ).raise_for_status()
        self.run(self._skip(seconds))

    async def _skip(self, seconds: float) -> None:
        self.clock.advance(seconds)
        queue = self.resources.queue
        assert isinstance(queue, InProcessQueue), "the demo runs its jobs in process"
        await queue.drain(until=self.clock.now())


def listening_socket() -> socket.socket:
    """A loopback socket on a free port, already listening: a request made before its server runs waits
    for it instead of failing, and no other process can take the port in between."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((HOST, 0))
    sock.listen(128)
    return sock


def address_of(sock: socket.socket) -> str:
    return f"http://{HOST}:{sock.getsockname()[1]}"


@contextlib.contextmanager
def served(apps: list[tuple[ASGIApp, socket.socket]], name: str) -> Iterator[asyncio.AbstractEventLoop]:
    """Serve each app on its socket, all on one event loop in a background thread, until the block ends;
    then stop them (each app's shutdown runs) and close the loop."""
    loop = asyncio.new_event_loop()
    servers = [(uvicorn.Server(uvicorn.Config(app, log_config=None)), sock) for app, sock in apps]

    async def serve() -> None:
        await asyncio.gather(*(server.serve(sockets=[sock]) for server, sock in servers))

    task = loop.create_task(serve())

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(task)
            loop.run_until_complete(stopped([server for server, _ in servers]))
        finally:
            close_loop(loop)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout=30)
        for _, sock in apps:
            sock.close()


async def stopped(servers: list[uvicorn.Server]) -> None:
    """What uvicorn does when it stops, without its pauses (a tenth of a second, twice, per stop): stop
    listening, close the connections, run each app's shutdown."""
    for server in servers:
        if not server.started:
            continue
        for listener in server.servers:
            listener.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        await server.lifespan.shutdown()


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel what is left on the loop and wait for it, as ``asyncio.run`` does, then close the loop: nothing
    is left for the garbage collector to finish later in another thread."""
    left = asyncio.all_tasks(loop)
    for task in left:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())
    loop.run_until_complete(loop.shutdown_default_executor())
    loop.close()


@contextlib.contextmanager
def running_sandboxes() -> Iterator[DemoSandboxes]:
    """The demo's two sandboxes on the wall clock, empty until the first demo resets and seeds them."""
    pipedrive_socket, waha_socket = listening_socket(), listening_socket()
    addresses = DemoAddresses(wapipe="", pipedrive=address_of(pipedrive_socket), waha=address_of(waha_socket))
    # The WAHA sandbox's key is the demo's; a demo's settings must carry the same (running_demo_runtime).
    settings = load_settings(mode=Mode.DEMO)
    api_key = settings.waha_api_key.get_secret_value()
    pipedrive = SandboxState(clock=Clock(follow_wall_clock=True), base_url=addresses.pipedrive)
    waha = build_waha_sandbox(settings, addresses)
    apps: list[tuple[ASGIApp, socket.socket]] = [
        (create_pipedrive_sandbox(pipedrive), pipedrive_socket),
        (create_waha_sandbox(waha, api_key=api_key), waha_socket),
    ]
    with served(apps, "demo-sandboxes"), httpx.Client(timeout=30) as http:
        yield DemoSandboxes(addresses.pipedrive, addresses.waha, api_key, http)


@contextlib.contextmanager
def running_demo_runtime(
    var_dir: Path, sandboxes: DemoSandboxes, **settings_overrides: object
) -> Iterator[DemoRuntime]:
    """A fresh WaPipe against the shared sandboxes, reset for it first; ``settings_overrides`` are the
    module's own settings (the addresses, database and queue stay the demo's)."""
    wapipe_socket = listening_socket()
    addresses = DemoAddresses(address_of(wapipe_socket), sandboxes.pipedrive, sandboxes.waha)
    settings = demo_settings(var_dir, addresses.wapipe, sandboxes, **settings_overrides)
    if settings.waha_api_key.get_secret_value() != sandboxes.waha_api_key:
        wapipe_socket.close()
        raise RuntimeError("the demo's WAHA sandbox was started with another API key than this WaPipe has")
    migrated_database(settings.effective_database_url)
    sandboxes.reset_for(settings, addresses)
    clock = ControlledClock()
    app = create_app(settings, Upstreams(clock=clock))
    with served([(app, wapipe_socket)], "demo-wapipe") as loop:
        try:
            sandboxes.http.get(addresses.wapipe + "/healthz").raise_for_status()
        except httpx.HTTPError as error:
            raise RuntimeError(f"WaPipe did not answer at {addresses.wapipe}: {error}") from error
        yield DemoRuntime(settings, addresses, app, loop, clock)


@contextlib.contextmanager
def running_demo(
    var_dir: Path, sandboxes: DemoSandboxes, **settings_overrides: object
) -> Iterator[tuple[Settings, DemoAddresses]]:
    with running_demo_runtime(var_dir, sandboxes, **settings_overrides) as runtime:
        yield runtime.settings, runtime.addresses
