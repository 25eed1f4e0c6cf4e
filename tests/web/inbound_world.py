"""WaPipe and the WAHA sandbox wired together in-process: webhooks from the sandbox reach our routes,
our WAHA client reaches the sandbox. Shared by the inbound-flow tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from sandbox.waha.app import create_app as create_waha
from sandbox.waha.clock import Clock
from sandbox.waha.state import SandboxState as WahaState
from server.domain.clock import ControlledClock
from server.domain.models import Account
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.migrate import upgrade
from server.storage.tables import Chat, InboundEvent, Message
from server.web.app import create_app
from server.web.resources import Resources, Upstreams

SESSION = "wp-acme-anna"
LINKED_NUMBER = "4915112345678"


@dataclass
class InboundWorld:
    app: Starlette
    client: httpx.AsyncClient  # talks to WaPipe
    waha: WahaState
    account: Account
    clock: ControlledClock

    @property
    def resources(self) -> Resources:
        resources: Resources = self.app.state.resources
        return resources

    async def settle(self) -> None:
        """Deliver every pending webhook, then run every job they caused (twice: jobs cause webhooks)."""
        for _ in range(3):
            await self.waha.settle()
            await self.resources.queue.drain()  # type: ignore[attr-defined]

    async def rows(self, table: Any) -> list[dict[str, Any]]:
        sa_table = table.__table__
        async with self.resources.engine.connect() as connection:
            result = await connection.execute(select(sa_table).order_by(sa_table.c.id))
            return [dict(row) for row in result.mappings()]

    async def messages(self) -> list[dict[str, Any]]:
        return await self.rows(Message)

    async def chats(self) -> list[dict[str, Any]]:
        return await self.rows(Chat)

    async def events(self) -> list[dict[str, Any]]:
        return await self.rows(InboundEvent)


@contextlib.asynccontextmanager
async def inbound_world(
    settings: Settings, *, seed_history: bool = False, cloud: httpx.AsyncBaseTransport | None = None
) -> AsyncIterator[InboundWorld]:
    """``cloud``: Meta's Graph API (with the Cloud API settings on, WaPipe links Cloud numbers through it)."""
    upgrade(settings.effective_database_url)
    waha = WahaState(clock=Clock(follow_wall_clock=True), seed_history=seed_history)
    holder: dict[str, Starlette] = {}

    async def to_wapipe(request: httpx.Request) -> httpx.Response:
        transport = httpx.ASGITransport(app=holder["app"])
        return await transport.handle_async_request(request)

    webhook_client = httpx.AsyncClient(transport=_Forward(to_wapipe))
    waha_app = create_waha(
        waha, api_key=settings.waha_api_key.get_secret_value(), webhook_client=webhook_client
    )
    clock = ControlledClock()
    clock.follow(waha.clock.advance)
    app = create_app(settings, Upstreams(waha=httpx.ASGITransport(app=waha_app), cloud=cloud, clock=clock))
    holder["app"] = app
    async with app.router.lifespan_context(app), waha_app.router.lifespan_context(waha_app):
        resources: Resources = app.state.resources
        company = await SqlCompanyStore(resources.engine).upsert(
            9001, name="Acme", api_domain="http://pipedrive.test", timezone="Europe/Berlin"
        )
        account = await SqlAccountStore(resources.engine).create(
            company_id=company.id, owner_user_id=1, transport="waha", session_name=SESSION
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://wapipe.test"
        ) as client:
            yield InboundWorld(app, client, waha, account, clock)
    await webhook_client.aclose()


class _Forward(httpx.AsyncBaseTransport):
    def __init__(self, handler: Any) -> None:
        self._handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = await self._handler(request)
        return response
