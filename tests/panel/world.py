"""WaPipe with both sandboxes in-process for the panel: a Pipedrive company where Anna installed WaPipe
and linked her WhatsApp number, Persons with phones and Files, and a second company that did the same."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
from sqlalchemy import select
from starlette.applications import Starlette

from sandbox.pipedrive.app import create_app as create_pipedrive
from sandbox.pipedrive.oauth import oauth_server_for
from sandbox.pipedrive.seed import ALL_SCOPES, seed_deal, seed_file, seed_person
from sandbox.pipedrive.state import SandboxState, SandboxUser
from sandbox.waha.app import create_app as create_waha
from sandbox.waha.clock import Clock
from sandbox.waha.state import SandboxState as WahaState
from server.domain.clock import ControlledClock
from server.settings import Settings
from server.storage.accounts import SqlAccountStore
from server.storage.companies import SqlCompanyStore
from server.storage.migrate import upgrade
from server.storage.tables import Message, Outbox
from server.web.app import create_app
from server.web.resources import Resources, Upstreams

SANDBOX = "http://pipedrive.sandbox"
WAPIPE = "http://wapipe.test"
CLIENT_ID = "wapipe-panel-test"
CLIENT_SECRET = "panel-test-client-secret"
ANNA_NUMBER = "4915112345678"
GRACE_NUMBER = "14155550100"


def world_settings_overrides() -> dict[str, object]:
    return {
        "public_url": WAPIPE,
        "pipedrive_oauth_url": SANDBOX,
        "pipedrive_api_url": SANDBOX,
        "pipedrive_client_id": CLIENT_ID,
        "pipedrive_client_secret": CLIENT_SECRET,
    }


@dataclass
class PanelWorld:
    app: Starlette
    client: httpx.AsyncClient
    settings: Settings
    pd: SandboxState
    waha: WahaState
    anna: SandboxUser
    grace: SandboxUser  # an admin of another company
    persons: dict[str, int]
    deal_id: int
    files: dict[str, int]

    @property
    def resources(self) -> Resources:
        resources: Resources = self.app.state.resources
        return resources

    def token(self, user: SandboxUser | None = None, *, ttl: int = 300) -> str:
        user = user or self.anna
        now = int(time.time())
        claims = {"userId": user.id, "companyId": user.company_id, "iat": now, "exp": now + ttl}
        return jwt.encode(claims, self.settings.pipedrive_jwt_secret.get_secret_value(), algorithm="HS256")

    def headers(self, user: SandboxUser | None = None) -> dict[str, str]:
        return {"X-Pipedrive-Token": self.token(user)}

    async def settle(self) -> None:
        for _ in range(3):
            await self.waha.settle()
            await self.resources.queue.drain()  # type: ignore[attr-defined]

    async def rows(self, table: Any) -> list[dict[str, Any]]:
        sa_table = table.__table__
        async with self.resources.engine.connect() as connection:
            result = await connection.execute(select(sa_table).order_by(sa_table.c.id))
            return [dict(row) for row in result.mappings()]

    async def outbox(self) -> list[dict[str, Any]]:
        return await self.rows(Outbox)

    async def messages(self) -> list[dict[str, Any]]:
        return await self.rows(Message)

    async def install(self, sandbox: httpx.AsyncClient, user: SandboxUser) -> None:
        start = await self.client.get("/install")
        state = parse_qs(urlparse(start.headers["location"]).query)["state"][0]
        form = {
            "client_id": CLIENT_ID,
            "redirect_uri": f"{WAPIPE}/oauth/callback",
            "user_id": str(user.id),
            "state": state,
            "decision": "allow",
        }
        answer = await sandbox.post("/oauth/authorize", data=form)
        assert answer.status_code == 302, answer.text
        callback = await self.client.get(answer.headers["location"])
        assert callback.status_code in (200, 302, 303), callback.text
        await self.settle()

    async def link_number(self, user: SandboxUser, session: str, number: str) -> int:
        company = await SqlCompanyStore(self.resources.engine).get(user.company_id)
        assert company is not None
        account = await SqlAccountStore(self.resources.engine).create(
            company_id=company.id, owner_user_id=user.id, transport="waha", session_name=session
        )
        await self.resources.transports["waha"].connect(session)
        await self.waha.elapse(2)
        self.waha.scan(session, number, user.name)
        await self.settle()
        return account.id


class _ToApp(httpx.AsyncBaseTransport):
    def __init__(self, holder: dict[str, Starlette]) -> None:
        self._holder = holder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await httpx.ASGITransport(app=self._holder["app"]).handle_async_request(request)


@contextlib.asynccontextmanager
async def panel_world(settings: Settings) -> AsyncIterator[PanelWorld]:
    upgrade(settings.effective_database_url)
    pd = SandboxState(base_url=SANDBOX)
    acme = pd.add_company("Acme Sales GmbH", domain="acme", timezone="Europe/Berlin")
    anna = pd.add_user(acme.id, "Anna Admin", "anna@acme.test", is_admin=True)
    globex = pd.add_company("Globex Inc", domain="globex", timezone="America/New_York")
    grace = pd.add_user(globex.id, "Grace Admin", "grace@globex.test", is_admin=True)
    pd.add_client(CLIENT_ID, CLIENT_SECRET, f"{WAPIPE}/oauth/callback", list(ALL_SCOPES))
    persons = {
        "maria": seed_person(pd, acme.id, "Maria Kunde", phones=["+49 176 55501234", "0151 7777 1234"])["id"],
        "local": seed_person(pd, acme.id, "Lokal Lisa", phones=["0176 5550 9999"])["id"],
        "nophone": seed_person(pd, acme.id, "Ohne Telefon")["id"],
        "bad": seed_person(pd, acme.id, "Falsche Nummer", phones=["+1 23"])["id"],
        "missing": seed_person(pd, acme.id, "Nicht Auf WhatsApp", phones=["+49 176 00000000"])["id"],
        "globex": seed_person(pd, globex.id, "Sam Francisco", phones=["+1 415 555 0132"])["id"],
    }
    deal = seed_deal(pd, acme.id, "Maria's order", person_id=persons["maria"])
    files = {
        "offer": seed_file(pd, acme.id, "offer.pdf", b"%PDF-1.4 offer", person_id=persons["maria"])["id"],
        "contract": seed_file(pd, acme.id, "contract.pdf", b"%PDF-1.4 deal", deal_id=deal["id"])["id"],
    }
    waha = WahaState(clock=Clock(follow_wall_clock=True))
    clock = ControlledClock()
    clock.follow(pd.clock.advance)
    clock.follow(waha.clock.advance)
    holder: dict[str, Starlette] = {}
    notifier = httpx.AsyncClient(transport=_ToApp(holder))
    oauth_server_for(pd).http = notifier
    waha_app = create_waha(waha, api_key=settings.waha_api_key.get_secret_value(), webhook_client=notifier)
    pipedrive_app = create_pipedrive(pd)
    app = create_app(
        settings,
        Upstreams(
            pipedrive=httpx.ASGITransport(app=pipedrive_app),
            waha=httpx.ASGITransport(app=waha_app),
            clock=clock,
        ),
    )
    holder["app"] = app
    async with (
        app.router.lifespan_context(app),
        waha_app.router.lifespan_context(waha_app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=WAPIPE) as client,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=pipedrive_app), base_url=SANDBOX) as sandbox,
    ):
        world = PanelWorld(app, client, settings, pd, waha, anna, grace, persons, deal["id"], files)
        waha.missing_numbers.add("4917600000000")  # nobody uses WhatsApp on this number
        await world.install(sandbox, anna)
        await world.install(sandbox, grace)
        await world.link_number(anna, "wp-acme-anna", ANNA_NUMBER)
        await world.link_number(grace, "wp-globex-grace", GRACE_NUMBER)
        yield world
    await notifier.aclose()
