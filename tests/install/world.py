"""WaPipe and the Pipedrive sandbox wired together in-process, for the install and uninstall tests.

Our Pipedrive client reaches the sandbox through ``httpx.ASGITransport``; the sandbox's uninstall
notifications reach our app the same way. ``install`` drives the browser's part: our ``/install``, the
sandbox's consent page, the Allow (or Deny) form, and the redirect back to our callback.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
from sqlalchemy import select
from starlette.applications import Starlette

from sandbox.pipedrive.app import create_app as create_sandbox
from sandbox.pipedrive.oauth import oauth_server_for
from sandbox.pipedrive.seed import ALL_SCOPES
from sandbox.pipedrive.state import SandboxCompany, SandboxState, SandboxUser
from server.domain.clock import ControlledClock
from server.settings import Settings
from server.storage.migrate import upgrade
from server.storage.tables import Company, CompanySettings, Installation
from server.web.app import create_app
from server.web.resources import Resources, Upstreams

SANDBOX = "http://pipedrive.sandbox"
WAPIPE = "http://wapipe.test"
CLIENT_ID = "wapipe-install-test"
CLIENT_SECRET = "install-test-client-secret"


def world_settings_overrides() -> dict[str, object]:
    return {
        "public_url": WAPIPE,
        "pipedrive_oauth_url": SANDBOX,
        "pipedrive_api_url": SANDBOX,
        "pipedrive_client_id": CLIENT_ID,
        "pipedrive_client_secret": CLIENT_SECRET,
    }


@dataclass
class InstallWorld:
    app: Starlette
    client: httpx.AsyncClient  # the browser talking to WaPipe
    sandbox: httpx.AsyncClient  # the browser talking to Pipedrive
    state: SandboxState
    company: SandboxCompany
    admin: SandboxUser
    agent: SandboxUser
    second_admin: SandboxUser

    @property
    def resources(self) -> Resources:
        resources: Resources = self.app.state.resources
        return resources

    async def settle(self) -> None:
        await self.resources.queue.drain()  # type: ignore[attr-defined]

    async def authorize(self, user: SandboxUser, *, state: str | None, decision: str = "allow") -> str:
        """Post the sandbox's consent form; the callback URL Pipedrive sends the browser to."""
        form = {"client_id": CLIENT_ID, "redirect_uri": f"{WAPIPE}/oauth/callback", "user_id": str(user.id)}
        if state is not None:
            form["state"] = state
        answer = await self.sandbox.post("/oauth/authorize", data={**form, "decision": decision})
        assert answer.status_code == 302, answer.text
        return str(answer.headers["location"])

    async def install(
        self, user: SandboxUser, *, decision: str = "allow", marketplace: bool = False
    ) -> httpx.Response:
        """The whole browser round trip; our callback's response (not followed)."""
        state: str | None = None
        if not marketplace:
            start = await self.client.get("/install")
            assert start.status_code == 302
            authorize_url = start.headers["location"]
            assert authorize_url.startswith(f"{SANDBOX}/oauth/authorize?")
            consent = await self.sandbox.get(authorize_url)
            assert consent.status_code == 200
            assert "Allow and install" in consent.text
            state = parse_qs(urlparse(authorize_url).query)["state"][0]
        callback = await self.authorize(user, state=state, decision=decision)
        assert callback.startswith(f"{WAPIPE}/oauth/callback?")
        response = await self.client.get(callback)
        await self.settle()
        return response

    async def uninstall_in_pipedrive(self, user: SandboxUser) -> dict[str, Any]:
        """The sandbox control that revokes the user's grant and sends us the uninstall DELETE."""
        answer = await self.sandbox.post(
            "/_sandbox/oauth/uninstall",
            json={"client_id": CLIENT_ID, "company_id": user.company_id, "user_id": user.id},
        )
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    async def rows(self, table: Any) -> list[dict[str, Any]]:
        sa_table = table.__table__
        async with self.resources.engine.connect() as connection:
            result = await connection.execute(select(sa_table))
            return [dict(row) for row in result.mappings()]

    async def installations(self) -> list[dict[str, Any]]:
        return sorted(await self.rows(Installation), key=lambda r: r["id"])

    async def wapipe_company(self) -> dict[str, Any]:
        companies = [c for c in await self.rows(Company) if c["pipedrive_company_id"] == self.company.id]
        assert len(companies) == 1
        return companies[0]

    async def company_settings(self) -> list[dict[str, Any]]:
        return await self.rows(CompanySettings)


class _ToApp(httpx.AsyncBaseTransport):
    """Forwards to an app that exists only after this transport is made."""

    def __init__(self, holder: dict[str, Starlette]) -> None:
        self._holder = holder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await httpx.ASGITransport(app=self._holder["app"]).handle_async_request(request)


@contextlib.asynccontextmanager
async def install_world(settings: Settings) -> AsyncIterator[InstallWorld]:
    upgrade(settings.effective_database_url)
    state = SandboxState(base_url=SANDBOX)
    company = state.add_company("Acme Sales GmbH", domain="acme", timezone="Europe/Berlin")
    admin = state.add_user(company.id, "Anna Admin", "anna@acme.test", is_admin=True)
    agent = state.add_user(company.id, "Bernd Agent", "bernd@acme.test", timezone_name="Europe/Vienna")
    second_admin = state.add_user(company.id, "Carla Admin", "carla@acme.test", is_admin=True)
    state.add_client(CLIENT_ID, CLIENT_SECRET, f"{WAPIPE}/oauth/callback", list(ALL_SCOPES))
    sandbox_app = create_sandbox(state)
    holder: dict[str, Starlette] = {}
    notifier = httpx.AsyncClient(transport=_ToApp(holder))
    oauth_server_for(state).http = notifier
    clock = ControlledClock()
    clock.follow(state.clock.advance)
    app = create_app(settings, Upstreams(pipedrive=httpx.ASGITransport(app=sandbox_app), clock=clock))
    holder["app"] = app
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WAPIPE) as client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app), base_url=SANDBOX) as sandbox,
    ):
        yield InstallWorld(app, client, sandbox, state, company, admin, agent, second_admin)
    await notifier.aclose()
