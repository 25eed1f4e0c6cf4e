"""The inbound tests' world: WaPipe and the WAHA sandbox (no Pipedrive), a company with one WhatsApp
account ready to be linked. The sandbox's webhooks reach our routes; our WAHA client reaches the sandbox."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from sandbox.waha.clock import Clock
from sandbox.waha.state import SandboxState as WahaState
from server.domain.installations import StoredTokens
from server.domain.models import Account
from server.jobs.embedded_sessions import ClientFor
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.tables import Chat, InboundEvent, Message
from tests.world import World, open_world

SESSION = "wp-acme-anna"
LINKED_NUMBER = "4915112345678"


@dataclass
class InboundWorld(World):
    account: Account = field(kw_only=True)

    async def messages(self) -> list[dict[str, Any]]:
        return await self.rows(Message)

    async def chats(self) -> list[dict[str, Any]]:
        return await self.rows(Chat)

    async def events(self) -> list[dict[str, Any]]:
        return await self.rows(InboundEvent)

    async def install_users(self, *users: int, admin: int | None = None) -> None:
        """Active installations of the world's company (Pipedrive company 9001) for these Pipedrive users,
        as a finished OAuth install leaves them; ``admin`` is the one that is an admin's."""
        company = await SqlCompanyStore(self.resources.engine).get(9001)
        assert company is not None
        tokens = StoredTokens(
            access_token="access",
            refresh_token="refresh",
            expires_at=datetime.now(UTC) + timedelta(hours=1),
            scopes=frozenset(),
            api_domain="http://pipedrive.test",
        )
        for user in users:
            await self.resources.pipedrive.installations.upsert(
                company.id,
                user,
                name=f"User {user}",
                email=f"{user}@acme.test",
                is_admin=user == admin,
                tokens=tokens,
            )


@contextlib.asynccontextmanager
async def inbound_world(
    settings: Settings,
    *,
    seed_history: bool = False,
    cloud: httpx.AsyncBaseTransport | None = None,
    whatsapp_web: ClientFor | None = None,
) -> AsyncIterator[InboundWorld]:
    """``cloud``: Meta's Graph API (with the Cloud API settings on, WaPipe links Cloud numbers through it);
    ``whatsapp_web``: WhatsApp Web for the embedded sessions (with ``WAPIPE_WHATSAPP=embedded``)."""
    waha = WahaState(clock=Clock(follow_wall_clock=True), seed_history=seed_history)
    async with open_world(settings, waha=waha, cloud=cloud, whatsapp_web=whatsapp_web) as base:
        engine = base.resources.engine
        company = await SqlCompanyStore(engine).upsert(
            9001, name="Acme", api_domain="http://pipedrive.test", timezone="Europe/Berlin"
        )
        account = await SqlAccountStore(engine).create(
            company_id=company.id, owner_user_id=1, transport="waha", session_name=SESSION
        )
        yield InboundWorld(**vars(base), account=account)
