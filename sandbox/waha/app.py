"""The WAHA-compatible gateway as a Starlette app."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from sandbox.waha import api_history, api_messages, api_server, api_sessions, control, phone
from sandbox.waha.state import SandboxState

TICK_SECONDS = 0.2


async def _home(request: Request) -> Response:
    return RedirectResponse("/_sim/phone/default")


def create_app(
    state: SandboxState | None = None, *, api_key: str, webhook_client: httpx.AsyncClient | None = None
) -> Starlette:
    """The gateway over `state` (a fresh one if None).

    `api_key` is the server key (`X-Api-Key`; plain or `sha512:<hex>`). `webhook_client` delivers webhooks
    and downloads `file.url` of sends (tests pass one with `httpx.ASGITransport`); without one the app
    makes its own. While served (lifespan), a ticker runs jobs that come due on the sandbox clock.
    """
    waha = state or SandboxState()
    own_client = webhook_client is None
    if webhook_client is not None:
        waha.webhooks.client = webhook_client

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def tick() -> None:
            while True:
                waha.tick()
                await asyncio.sleep(TICK_SECONDS)

        ticker = asyncio.create_task(tick())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            if own_client and waha.webhooks.client is not None:
                await waha.webhooks.client.aclose()
                waha.webhooks.client = None

    routes = [
        Route("/", _home),
        *api_sessions.routes,
        *api_messages.routes,
        *api_history.routes,
        *api_server.routes,
        *control.routes,
        *phone.routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.waha = waha
    app.state.api_key = api_key
    return app
